import type { Logger } from 'pino';
import type { AccessRequest, Db, Prisma } from '../db/prisma';
import { humanRequestId } from '../domain/request-view';
import { scrubSecrets } from '../logger';
import type { Policy } from '../policy/types';
import type { ProviderRegistry } from '../providers/provider-registry';
import { ProviderError, type AccessProvider } from '../providers/types';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import { ACCESS_LOCK_TIMEOUT_MS, revocationLockKey, TRANSACTION_MAX_WAIT_MS, tryLockAccessKeys } from './access-locks';
import { grantTarget } from './request-reads';

/** Where the drift check's findings go to people: the revocation alert and a notice in the request's thread. */
export interface DriftReports {
  /** Access was found on the target although the request has ended; `revoked` says whether it is gone now. */
  reappeared(request: AccessRequest, outcome: { revoked: boolean; error?: string }): Promise<void>;
  /** Access the database holds ACTIVE is not on the target. */
  missing(request: AccessRequest): Promise<void>;
}

/** The counters it feeds (BreakglassMetrics implements them). */
export interface DriftMetrics {
  driftFound(resourceId: string, kind: 'reappeared' | 'missing'): void;
  driftCheckFailed(resourceId: string): void;
  driftRunFinished?(findings: { reappeared: number; missing: number; errors: number }): void;
}

export interface DriftResult {
  /** Requests looked at on their target (one per piece of shared access). */
  checked: number;
  /** Ended requests whose access was found on the target again. */
  reappeared: number;
  /** Of those, the ones revoked again (and verified gone). */
  revoked: number;
  /** ACTIVE requests whose access was not on the target (reported at most once per MISSING_REPORT_QUIET_MS). */
  missing: number;
  /** Checks that could not be done: the target did not answer, the resource left the policy, the database failed. */
  errors: number;
  /** Left for the next run: a grant or revocation of the same access held its lock (it is in flight). */
  busy: number;
}

export interface DriftCheckDeps {
  db: Db;
  providers: ProviderRegistry;
  policy: Policy;
  logger: Logger;
  metrics?: DriftMetrics;
  reports: DriftReports;
  /** How far back ended requests are checked (default DEFAULT_DRIFT_LOOKBACK_MS). */
  lookbackMs?: number;
  /** Requests checked at once: each holds a database connection and talks to its target (default 4). */
  providerConcurrency?: number;
  /** Rows read per query (default 500). */
  pageSize?: number;
  /** Awaited before each page: the check gives way to what must not wait (an expiry burst's revocations). */
  giveWay?: () => Promise<void>;
}

export const DEFAULT_DRIFT_LOOKBACK_MS = 24 * 3_600_000;
/** A request reported missing is not reported again for this long (the check runs every 15 minutes). */
export const MISSING_REPORT_QUIET_MS = 6 * 3_600_000;
const DEFAULT_CONCURRENCY = 4;
/** ACTIVE requests due this soon are left to the expiry machinery, which is about to revoke them: checking them now
 * would only compete with their revocation for the access locks and the pool. */
export const ACTIVE_DUE_MARGIN_MS = 2 * 60_000;
const PAGE_SIZE = 500;
/** Other requests whose access on the target belongs to the expiry machinery: held (ACTIVE), or on its way out
 * (REVOKING, whose own revocation retries and alerts). Access one of them holds is not drift. APPROVED ones need not
 * count: their grant takes the same lock, so none is in flight while this check holds it. */
const HOLDING_STATES = ['ACTIVE', 'REVOKING'] as const;

/** Requests whose access ended (and was verified gone) within the lookback. FAILED ones only when they were rolled
 * back (a grant was attempted): one that failed before approval never touched the target. */
function endedSince(since: Date): Prisma.AccessRequestWhereInput {
  return {
    endedAt: { gte: since },
    OR: [{ status: { in: ['EXPIRED', 'REVOKED'] } }, { status: 'FAILED', OR: [{ endReason: 'grant_failed' }, { grant: { isNot: null } }] }],
  };
}

/** Text for the audit trail and the report: provider errors are written for people; anything else is scrubbed. */
function failureText(err: unknown): string {
  if (err instanceof ProviderError) return scrubSecrets(err.message);
  return err instanceof Error ? scrubSecrets(err.message) : 'unexpected error';
}

type EndedOutcome = 'busy' | 'held' | 'absent' | { revoked: boolean; error?: string };
type ActiveOutcome = 'busy' | 'changed' | 'present' | 'reported_before' | 'missing';

/**
 * Checks, not assumes, that the targets agree with the database: the safety net for causes nobody foresaw (access
 * granted again by hand, a target restored from a backup, a revoke a target acknowledged but did not apply).
 *   - Every request that ended within the lookback: if its access is on the target again (and no other live request
 *     holds the same access), it is revoked again, verified, recorded (DRIFT_REVOKED or DRIFT_REVOKE_FAILED) and
 *     reported as for a failing revocation.
 *   - Every ACTIVE request not yet due: if its access is not on the target, it is recorded (DRIFT_MISSING) and
 *     reported in the thread, once per MISSING_REPORT_QUIET_MS.
 * Each check holds the access's advisory lock (revocationLockKey), taken without waiting: a grant or revocation
 * holding it is in flight, and the access is left for the next run rather than judged mid-change. Request status is
 * never changed here; only audit events are written and targets acted on. One request's failure (a target down)
 * is counted and logged, and the others are still checked.
 */
export class DriftCheck {
  private readonly lookbackMs: number;
  private readonly lanes: number;
  private readonly pageSize: number;

  constructor(private readonly deps: DriftCheckDeps) {
    this.lookbackMs = deps.lookbackMs ?? DEFAULT_DRIFT_LOOKBACK_MS;
    this.lanes = Math.max(1, deps.providerConcurrency ?? DEFAULT_CONCURRENCY);
    this.pageSize = Math.max(1, deps.pageSize ?? PAGE_SIZE);
  }

  async run(now = new Date()): Promise<DriftResult> {
    const result: DriftResult = { checked: 0, reappeared: 0, revoked: 0, missing: 0, errors: 0, busy: 0 };
    const started = Date.now();
    // One check per piece of shared access: the newest ended request of it speaks for the older ones.
    const seen = new Set<string>();
    const unknownResources = new Set<string>();
    for await (const page of this.endedPages(new Date(now.getTime() - this.lookbackMs))) {
      await this.inLanes(page, (request) => this.checkEnded(request, seen, unknownResources, result));
    }
    for await (const page of this.activePages(new Date(now.getTime() + ACTIVE_DUE_MARGIN_MS))) {
      await this.inLanes(page, (request) => this.checkActive(request, now, unknownResources, result));
    }
    this.deps.metrics?.driftRunFinished?.(result);
    const summary = { ...result, ms: Date.now() - started };
    if (result.reappeared || result.missing || result.errors) this.deps.logger.warn(summary, 'drift check found differences between the database and the targets');
    else this.deps.logger.info(summary, 'drift check: targets agree with the database');
    return result;
  }

  /** An ended request: is its access back on the target? */
  private async checkEnded(request: AccessRequest, seen: Set<string>, unknownResources: Set<string>, result: DriftResult): Promise<void> {
    const provider = this.providerFor(request, unknownResources, result);
    if (!provider) return;
    const key = revocationLockKey(request, provider);
    if (seen.has(key)) return;
    seen.add(key);
    result.checked++;
    const target = grantTarget(request);
    let outcome: EndedOutcome;
    try {
      outcome = await this.underTryLock(key, async (tx) => {
        if (provider.sharing === 'login' && (await this.otherHolder(tx, request))) return 'held';
        if (!(await provider.verify(target))) return 'absent';
        let error: string | undefined;
        try {
          await provider.revoke(target);
          if (await provider.verify(target)) throw new ProviderError('the access is still there after revoking');
        } catch (err) {
          error = failureText(err);
        }
        await recordAudit(tx, {
          requestId: request.id,
          actor: SYSTEM_ACTOR,
          action: error === undefined ? 'DRIFT_REVOKED' : 'DRIFT_REVOKE_FAILED',
          details: { login: request.requesterLogin, grant: request.grantName, found: true, revoked: error === undefined, ...(error !== undefined ? { error } : {}) },
        });
        return { revoked: error === undefined, ...(error !== undefined ? { error } : {}) };
      });
    } catch (err) {
      this.checkFailed(request, err, result);
      return;
    }
    if (outcome === 'busy') result.busy++;
    if (typeof outcome !== 'object') return;
    result.reappeared++;
    if (outcome.revoked) result.revoked++;
    this.deps.metrics?.driftFound(request.resourceId, 'reappeared');
    this.deps.logger.error(
      { requestId: request.id, resource: request.resourceId, grant: request.grantName, login: request.requesterLogin, status: request.status, ...outcome },
      outcome.revoked ? 'access that had ended was back on the target; revoked it again' : 'access that had ended is back on the target and could not be revoked',
    );
    await this.report(request, 'reappeared', () => this.deps.reports.reappeared(request, outcome));
  }

  /** An ACTIVE request: is its access still on the target? */
  private async checkActive(request: AccessRequest, now: Date, unknownResources: Set<string>, result: DriftResult): Promise<void> {
    const provider = this.providerFor(request, unknownResources, result);
    if (!provider) return;
    result.checked++;
    let outcome: ActiveOutcome;
    try {
      outcome = await this.underTryLock(revocationLockKey(request, provider), async (tx) => {
        // Read again under the lock: a revocation that started meanwhile (ACTIVE → REVOKING comes before its lock)
        // would otherwise look like access gone missing.
        const current = await tx.accessRequest.findUnique({ where: { id: request.id }, select: { status: true, expiresAt: true } });
        if (current?.status !== 'ACTIVE' || !current.expiresAt || current.expiresAt.getTime() <= now.getTime()) return 'changed';
        if (await provider.verify(grantTarget(request))) return 'present';
        const reported = await tx.auditEvent.findFirst({
          where: { requestId: request.id, action: 'DRIFT_MISSING', createdAt: { gt: new Date(now.getTime() - MISSING_REPORT_QUIET_MS) } },
          select: { id: true },
        });
        if (reported) return 'reported_before';
        await recordAudit(tx, {
          requestId: request.id,
          actor: SYSTEM_ACTOR,
          action: 'DRIFT_MISSING',
          details: { login: request.requesterLogin, grant: request.grantName, found: false },
        });
        return 'missing';
      });
    } catch (err) {
      this.checkFailed(request, err, result);
      return;
    }
    if (outcome === 'busy') result.busy++;
    if (outcome !== 'missing' && outcome !== 'reported_before') return;
    result.missing++;
    if (outcome === 'reported_before') return;
    this.deps.metrics?.driftFound(request.resourceId, 'missing');
    this.deps.logger.warn(
      { requestId: request.id, resource: request.resourceId, grant: request.grantName, login: request.requesterLogin },
      'access the database holds as ACTIVE is missing from the target',
    );
    await this.report(request, 'missing', () => this.deps.reports.missing(request));
  }

  /** `work` in a transaction holding the access lock, or 'busy' when someone else holds it. The transaction (and
   * with it the lock and a pooled connection) lasts as long as the provider calls, as in the revocation paths. */
  private async underTryLock<T>(key: string, work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T | 'busy'> {
    return this.deps.db.$transaction(
      async (tx) => {
        if (!(await tryLockAccessKeys(tx, [key])).has(key)) return 'busy' as const;
        return work(tx);
      },
      { timeout: ACCESS_LOCK_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS },
    );
  }

  /** Another request whose access this is now (same login, grant and resource; see HOLDING_STATES), if any. */
  private async otherHolder(tx: Prisma.TransactionClient, request: AccessRequest): Promise<string | null> {
    const other = await tx.accessRequest.findFirst({
      where: { id: { not: request.id }, resourceId: request.resourceId, grantName: request.grantName, requesterLogin: request.requesterLogin, status: { in: [...HOLDING_STATES] } },
      select: { number: true },
    });
    return other ? humanRequestId(other.number) : null;
  }

  private providerFor(request: AccessRequest, unknownResources: Set<string>, result: DriftResult): AccessProvider | null {
    if (this.deps.policy.resources.some((resource) => resource.id === request.resourceId)) {
      try {
        return this.deps.providers.get(request.resourceId);
      } catch {
        // Falls through: treated as a resource without a provider.
      }
    }
    result.errors++;
    this.deps.metrics?.driftCheckFailed(request.resourceId);
    if (!unknownResources.has(request.resourceId)) {
      unknownResources.add(request.resourceId);
      this.deps.logger.warn({ resource: request.resourceId }, 'drift check: the resource is no longer in the policy, so its grants cannot be checked');
    }
    return null;
  }

  private checkFailed(request: AccessRequest, err: unknown, result: DriftResult): void {
    result.errors++;
    this.deps.metrics?.driftCheckFailed(request.resourceId);
    this.deps.logger.warn(
      { requestId: request.id, resource: request.resourceId, status: request.status, error: failureText(err) },
      'drift check could not check a grant on its target; trying again on the next run',
    );
  }

  /** Reports go out after the commit; a failing one is logged (the audit event is already there). */
  private async report(request: AccessRequest, kind: 'reappeared' | 'missing', send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      this.deps.logger.error({ err, requestId: request.id, kind }, 'could not report drift');
    }
  }

  /** The ended requests, newest first, a page at a time (keyset on endedAt, id). */
  private async *endedPages(since: Date): AsyncGenerator<AccessRequest[]> {
    let after: { endedAt: Date; id: string } | null = null;
    for (;;) {
      const cursor: Prisma.AccessRequestWhereInput = after ? { OR: [{ endedAt: { lt: after.endedAt } }, { endedAt: after.endedAt, id: { lt: after.id } }] } : {};
      await this.deps.giveWay?.();
      const page = await this.deps.db.accessRequest.findMany({
        where: { AND: [endedSince(since), cursor] },
        orderBy: [{ endedAt: 'desc' }, { id: 'desc' }],
        take: this.pageSize,
      });
      if (page.length === 0) return;
      yield page;
      if (page.length < this.pageSize) return;
      const last = page[page.length - 1];
      after = { endedAt: last.endedAt!, id: last.id };
    }
  }

  /** The ACTIVE requests due after `dueAfter`, a page at a time by id. Due ones are the expiry machinery's. */
  private async *activePages(dueAfter: Date): AsyncGenerator<AccessRequest[]> {
    let afterId: string | null = null;
    for (;;) {
      await this.deps.giveWay?.();
      const page: AccessRequest[] = await this.deps.db.accessRequest.findMany({
        where: { status: 'ACTIVE', expiresAt: { gt: dueAfter }, ...(afterId ? { id: { gt: afterId } } : {}) },
        orderBy: { id: 'asc' },
        take: this.pageSize,
      });
      if (page.length === 0) return;
      yield page;
      if (page.length < this.pageSize) return;
      afterId = page[page.length - 1].id;
    }
  }

  /** `check` for every item, at most `lanes` at once. `check` must not throw (each check catches its own). */
  private async inLanes<T>(items: T[], check: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < items.length) await check(items[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(this.lanes, items.length) }, lane));
  }
}
