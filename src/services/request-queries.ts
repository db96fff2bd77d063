import type { Db } from '../db/prisma';
import type { RequestState } from '../domain/request-state';
import type { HomeContent, HomeLimits, Page } from '../domain/request-pages';
import { humanRequestId, type RequestView } from '../domain/request-view';
import type { TimelineEvent } from '../domain/timeline-event';
import { awaitsApprovalFrom, awaitsReviewFrom, canSee, notVisibleMessage, viewerOf, type RequestAccessFacts, type Viewer } from '../domain/visibility';
import { findRole } from '../policy/policy-queries';
import type { Policy } from '../policy/types';
import type { Outcome } from '../domain/outcome';
import type { UserDirectory } from './user-directory';

/** Requests still in play: waiting, or holding (or about to hold, or losing) access. */
const OPEN_STATES: RequestState[] = ['PENDING', 'APPROVED', 'ACTIVE', 'REVOKING'];
/** The requester's "active access": granted, being granted, or being taken back. */
const HOLDING_STATES: RequestState[] = ['APPROVED', 'ACTIVE', 'REVOKING'];
const ENDED_STATES: RequestState[] = ['EXPIRED', 'REVOKED', 'DENIED', 'FAILED', 'TIMED_OUT'];
/** What admins watch: access that exists, including revocations that keep failing. */
const ADMIN_ACTIVE_STATES: RequestState[] = ['ACTIVE', 'REVOKING'];

// These read-side shapes live in src/domain (the Block Kit builders use them); re-exported for existing importers.
export type { HomeContent, HomeLimits, Page } from '../domain/request-pages';
export type { TimelineEvent } from '../domain/timeline-event';

const factsSelect = { id: true, requesterId: true, resourceId: true, roleId: true } as const;

/** The read side: finding requests by human id, lists, timelines and App Home content, all filtered by who may see
 * what (src/domain/visibility.ts). Changes nothing. */
export class RequestQueries {
  constructor(
    private readonly deps: {
      db: Db;
      policy: Policy;
      directory: UserDirectory;
      /** Renders one request as people see it (AccessService.loadView). */
      loadView: (requestId: string) => Promise<RequestView>;
    },
  ) {}

  async viewer(userId: string): Promise<Viewer> {
    return viewerOf(this.deps.policy, userId, (await this.deps.directory.membershipsOf(userId)).ids);
  }

  /** A request by its number (BG-<number>), if this user may see it; the refusal never says which it was. */
  async findVisible(requestNumber: number, userId: string): Promise<Outcome<{ view: RequestView }, 'not_found'>> {
    const row = await this.deps.db.accessRequest.findUnique({ where: { number: requestNumber }, select: factsSelect });
    if (!row || !canSee(this.deps.policy, await this.viewer(userId), row)) {
      return { ok: false, code: 'not_found', message: notVisibleMessage(humanRequestId(requestNumber)) };
    }
    return { ok: true, view: await this.deps.loadView(row.id) };
  }

  /** Active and pending requests this user may see, newest first. */
  async listVisible(userId: string, limit: number): Promise<Page> {
    const [viewer, rows] = await Promise.all([
      this.viewer(userId),
      this.deps.db.accessRequest.findMany({ where: { status: { in: OPEN_STATES } }, select: factsSelect, orderBy: { number: 'desc' } }),
    ]);
    return this.page(
      rows.filter((row) => canSee(this.deps.policy, viewer, row)),
      limit,
    );
  }

  /** A request and its audit events, oldest first, if this user may see it. */
  async timeline(requestNumber: number, userId: string): Promise<Outcome<{ view: RequestView; events: TimelineEvent[] }, 'not_found'>> {
    const found = await this.findVisible(requestNumber, userId);
    if (!found.ok) return found;
    return { ok: true, view: found.view, events: await this.eventsOf(found.view.id) };
  }

  /** A request's audit events, oldest first, for whoever may already see the request (e.g. its audit summary). */
  async eventsOf(requestId: string): Promise<TimelineEvent[]> {
    return (await this.eventsOfMany([requestId])).get(requestId) ?? [];
  }

  /** The audit events of many requests in one read (the summaries of a mass expiry), oldest first for each. */
  async eventsOfMany(requestIds: readonly string[]): Promise<Map<string, TimelineEvent[]>> {
    const rows = await this.deps.db.auditEvent.findMany({ where: { requestId: { in: [...requestIds] } }, orderBy: { id: 'asc' } });
    const byRequest = new Map<string, TimelineEvent[]>(requestIds.map((id) => [id, []]));
    for (const row of rows) {
      byRequest.get(row.requestId!)?.push({
        at: row.createdAt,
        actor: row.actor,
        action: row.action,
        details: row.details !== null && typeof row.details === 'object' && !Array.isArray(row.details) ? (row.details as Record<string, unknown>) : {},
      });
    }
    return byRequest;
  }

  async homeFor(userId: string, limits: HomeLimits): Promise<HomeContent> {
    const { db, policy } = this.deps;
    const [viewer, mine, pending, recentRows, adminRows, unreviewed] = await Promise.all([
      this.viewer(userId),
      db.accessRequest.findMany({ where: { requesterId: userId, status: { in: OPEN_STATES } }, select: { ...factsSelect, status: true }, orderBy: { number: 'desc' } }),
      db.accessRequest.findMany({
        where: { status: 'PENDING', requesterId: { not: userId } },
        select: { ...factsSelect, approvals: { select: { approverId: true } } },
        orderBy: { number: 'asc' },
      }),
      db.accessRequest.findMany({ where: { requesterId: userId, status: { in: ENDED_STATES } }, select: { id: true }, orderBy: { number: 'desc' }, take: limits.recent }),
      policy.admins.includes(userId) ? this.allActive(limits.allActive) : Promise.resolve(null),
      db.emergencyReview.findMany({
        where: { verdict: null },
        select: { reviewers: true, request: { select: factsSelect } },
        orderBy: { dueAt: 'asc' },
      }),
    ]);
    const toReview = await this.page(
      unreviewed.filter((row) => awaitsReviewFrom(policy, viewer, row.request, row.reviewers)).map((row) => row.request),
      limits.toReview,
    );
    const toApprove = pending.filter((row) => awaitsApprovalFrom(policy, viewer, { ...row, approvedBy: row.approvals.map((a) => a.approverId) }));
    const myAccess = await this.page(
      mine.filter((row) => HOLDING_STATES.includes(row.status)),
      limits.myAccess,
    );
    const myPending = await this.page(
      mine.filter((row) => row.status === 'PENDING'),
      limits.myPending,
    );
    const approvals = await this.page(toApprove, limits.toApprove);
    const recent = await this.viewsOf(recentRows);
    const allActive = adminRows ? { items: await this.viewsOf(adminRows.rows), total: adminRows.total } : null;
    return { userId, isAdmin: viewer.isAdmin, myAccess, myPending, toApprove: approvals, recent, allActive, toReview };
  }

  /** What admins watch, soonest expiry first; counted rather than fetched beyond the first `limit` (there may be
   * thousands). */
  private async allActive(limit: number): Promise<{ rows: Array<{ id: string }>; total: number }> {
    const where = { status: { in: ADMIN_ACTIVE_STATES } };
    const [rows, total] = await Promise.all([
      this.deps.db.accessRequest.findMany({ where, select: { id: true }, orderBy: [{ expiresAt: 'asc' }, { number: 'asc' }], take: limit }),
      this.deps.db.accessRequest.count({ where }),
    ]);
    return { rows, total };
  }

  /** Everyone whose App Home shows this request: the requester, the role's approvers and emergency reviewers (people
   * named, members of the user groups named, and whoever is on call now for the schedules named) and the admins. */
  async audienceOf(request: RequestAccessFacts): Promise<string[]> {
    const role = findRole(this.deps.policy, request.resourceId, request.roleId)?.role;
    const principals = [...(role?.approvers ?? []), ...(role?.emergency?.reviewers ?? [])];
    return [...new Set([request.requesterId, ...this.deps.policy.admins, ...(await this.deps.directory.usersOf(principals))])];
  }

  /** Views are loaded one after another: a Home or a list is a few dozen small reads, and in parallel they would
   * crowd the connection pool that revocations use. */
  private async page(rows: ReadonlyArray<{ id: string }>, limit: number): Promise<Page> {
    return { items: await this.viewsOf(rows.slice(0, limit)), total: rows.length };
  }

  private async viewsOf(rows: ReadonlyArray<{ id: string }>): Promise<RequestView[]> {
    const views: RequestView[] = [];
    for (const row of rows) views.push(await this.deps.loadView(row.id));
    return views;
  }
}
