/**
 * The review report: what happened to access in a period, computed from audit events alone (plain code, no I/O).
 * Callers hand it the sealed events of every request that matters for the period (its whole history up to the
 * period's end), and where each request's thread is; see src/reports/report-events.ts.
 */
import { humanRequestId } from './request-view';

/** One sealed audit event, as the report reads it. */
export interface ReportEvent {
  seq: number;
  at: Date;
  requestId: string | null;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

/** Where a request lives, for labels and links: not audited facts, read from the request's row (the REQUESTED
 * event carries the channel, but the approval message's ts is only known after it is posted). */
export interface ReportRequestRef {
  requestId: string;
  number: number;
  channelId: string | null;
  messageTs: string | null;
  /** Fallbacks when the request's REQUESTED event is not among the events (never the case for requests made by
   * this bot since the audit log exists). */
  requesterId: string;
  resourceId: string;
  roleId: string;
}

export interface ReportPeriod {
  /** Inclusive. */
  since: Date;
  /** Exclusive; the report describes the state as of this moment. */
  until: Date;
}

export interface ReportItem {
  requestId: string;
  /** BG-1042 */
  request: string;
  requester: string;
  resource: string;
  role: string;
  /** The approval thread: channel and message ts, when the message was posted. */
  channelId: string | null;
  messageTs: string | null;
}

export type ReviewState = 'reviewed' | 'flagged' | 'overdue' | 'pending';

export interface EmergencyItem extends ReportItem {
  invokedAt: Date;
  reviewDueAt: Date | null;
  state: ReviewState;
  /** Who reviewed or flagged it, when. */
  reviewer: string | null;
  reviewedAt: Date | null;
  /** The flag's reason (user text). */
  flagReason: string | null;
  /** Reviewed or flagged after the deadline. */
  late: boolean;
}

export interface ClosedItem extends ReportItem {
  at: Date;
  /** Who denied it ("system" for timeouts). */
  by: string;
}

export interface FailedRevocationItem extends ReportItem {
  firstFailedAt: Date;
  attempts: number;
  lastError: string | null;
  /** When the access was finally taken away; null: still failing at the end of the period. */
  resolvedAt: Date | null;
  failingSeconds: number;
}

export interface GrantItem extends ReportItem {
  grantedAt: Date;
  /** When the access was taken away; null: still held at the end of the period. */
  endedAt: Date | null;
  /** From the grant to its end (or the end of the period). */
  seconds: number;
  emergency: boolean;
}

export interface AccessReport {
  period: ReportPeriod;
  /** The sealed events the report was computed from: their number and seq range (check them with verify). */
  source: { events: number; firstSeq: number | null; lastSeq: number | null };
  totals: {
    requests: number;
    grants: number;
    /** Access held within the period, summed over grants (clipped to the period). */
    accessSeconds: number;
    emergencyGrants: number;
    denied: number;
    timedOut: number;
    failedRevocations: number;
  };
  byResourceRole: Array<{ resource: string; role: string; grants: number; accessSeconds: number }>;
  emergency: EmergencyItem[];
  denied: ClosedItem[];
  timedOut: ClosedItem[];
  failedRevocations: FailedRevocationItem[];
  /** Longest first, at most `limit`. */
  longestGrants: GrantItem[];
  /** Most requests first, at most `limit`. */
  topRequesters: Array<{ requester: string; requests: number; grants: number; accessSeconds: number }>;
}

/** Audit actions that mean the access was taken away on the target. */
const ACCESS_ENDED = new Set(['EXPIRED', 'REVOKED', 'ROLLED_BACK', 'LATE_GRANT_REVOKED']);

export const REPORT_TOP_LIMIT = 10;

interface RequestHistory {
  item: ReportItem;
  events: ReportEvent[];
}

export function computeAccessReport(
  period: ReportPeriod,
  events: readonly ReportEvent[],
  refs: ReadonlyMap<string, ReportRequestRef>,
  { limit = REPORT_TOP_LIMIT }: { limit?: number } = {},
): AccessReport {
  const since = period.since.getTime();
  const until = period.until.getTime();
  const inPeriod = (at: Date) => at.getTime() >= since && at.getTime() < until;
  const used = events.filter((event) => event.at.getTime() < until).sort((a, b) => a.seq - b.seq);
  const histories = new Map<string, RequestHistory>();
  for (const event of used) {
    if (!event.requestId) continue;
    let history = histories.get(event.requestId);
    if (!history) {
      history = { item: itemFor(event.requestId, refs.get(event.requestId)), events: [] };
      histories.set(event.requestId, history);
    }
    history.events.push(event);
    if (event.action === 'REQUESTED') {
      history.item.requester = event.actor;
      if (typeof event.details.resource === 'string') history.item.resource = event.details.resource;
      if (typeof event.details.role === 'string') history.item.role = event.details.role;
      if (typeof event.details.channel === 'string') history.item.channelId = event.details.channel;
    }
  }

  const report: AccessReport = {
    period,
    source: { events: used.length, firstSeq: used[0]?.seq ?? null, lastSeq: used.at(-1)?.seq ?? null },
    totals: { requests: 0, grants: 0, accessSeconds: 0, emergencyGrants: 0, denied: 0, timedOut: 0, failedRevocations: 0 },
    byResourceRole: [],
    emergency: [],
    denied: [],
    timedOut: [],
    failedRevocations: [],
    longestGrants: [],
    topRequesters: [],
  };
  const byAccess = new Map<string, { resource: string; role: string; grants: number; accessSeconds: number }>();
  const people = new Map<string, { requester: string; requests: number; grants: number; accessSeconds: number }>();
  const person = (id: string) => {
    let entry = people.get(id);
    if (!entry) {
      entry = { requester: id, requests: 0, grants: 0, accessSeconds: 0 };
      people.set(id, entry);
    }
    return entry;
  };
  const grants: GrantItem[] = [];

  for (const { item, events: history } of histories.values()) {
    const requested = history.find((event) => event.action === 'REQUESTED');
    if (requested && inPeriod(requested.at)) {
      report.totals.requests += 1;
      person(item.requester).requests += 1;
    }
    for (const event of history) {
      if (!inPeriod(event.at)) continue;
      if (event.action === 'DENIED') report.denied.push({ ...item, at: event.at, by: event.actor });
      if (event.action === 'TIMED_OUT') report.timedOut.push({ ...item, at: event.at, by: event.actor });
    }
    const invoked = history.find((event) => event.action === 'EMERGENCY_INVOKED');
    const grant = grantOf(history, until);
    if (grant && grant.from < until && grant.to > since) {
      const heldSeconds = Math.round((Math.min(grant.to, until) - Math.max(grant.from, since)) / 1000);
      const seconds = Math.round((grant.to - grant.from) / 1000);
      grants.push({ ...item, grantedAt: new Date(grant.from), endedAt: grant.ended ? new Date(grant.to) : null, seconds, emergency: Boolean(invoked) });
      report.totals.grants += 1;
      report.totals.accessSeconds += heldSeconds;
      const key = `${item.resource}\u0000${item.role}`;
      const access = byAccess.get(key) ?? { resource: item.resource, role: item.role, grants: 0, accessSeconds: 0 };
      access.grants += 1;
      access.accessSeconds += heldSeconds;
      byAccess.set(key, access);
      const who = person(item.requester);
      who.grants += 1;
      who.accessSeconds += heldSeconds;
    }
    if (invoked) {
      const emergency = emergencyOf(item, invoked, history, until);
      if (emergency.state === 'pending' || emergency.state === 'overdue' || history.some((event) => inPeriod(event.at))) report.emergency.push(emergency);
    }
    report.failedRevocations.push(...failedRevocationsOf(item, history, since, until));
  }

  report.totals.emergencyGrants = report.emergency.length;
  report.totals.denied = report.denied.length;
  report.totals.timedOut = report.timedOut.length;
  report.totals.failedRevocations = report.failedRevocations.length;
  report.byResourceRole = [...byAccess.values()].sort((a, b) => b.accessSeconds - a.accessSeconds || a.resource.localeCompare(b.resource) || a.role.localeCompare(b.role));
  report.emergency.sort((a, b) => reviewRank[a.state] - reviewRank[b.state] || a.invokedAt.getTime() - b.invokedAt.getTime());
  report.denied.sort(byTime);
  report.timedOut.sort(byTime);
  report.failedRevocations.sort((a, b) => b.failingSeconds - a.failingSeconds);
  report.longestGrants = grants.sort((a, b) => b.seconds - a.seconds || a.grantedAt.getTime() - b.grantedAt.getTime()).slice(0, limit);
  report.topRequesters = [...people.values()]
    .filter((entry) => entry.requests > 0 || entry.grants > 0)
    .sort((a, b) => b.requests - a.requests || b.accessSeconds - a.accessSeconds || a.requester.localeCompare(b.requester))
    .slice(0, limit);
  return report;
}

/** Flagged and overdue reviews first: they are what a reviewer must look at. */
const reviewRank: Record<ReviewState, number> = { flagged: 0, overdue: 1, pending: 2, reviewed: 3 };

const byTime = (a: { at: Date }, b: { at: Date }) => a.at.getTime() - b.at.getTime();

function itemFor(requestId: string, ref: ReportRequestRef | undefined): ReportItem {
  return {
    requestId,
    request: ref ? humanRequestId(ref.number) : requestId,
    requester: ref?.requesterId ?? 'unknown',
    resource: ref?.resourceId ?? 'unknown',
    role: ref?.roleId ?? 'unknown',
    channelId: ref?.channelId ?? null,
    messageTs: ref?.messageTs ?? null,
  };
}

/** The access a request held: from GRANTED to the event that took it away, or to `until` when it is still held. */
function grantOf(history: readonly ReportEvent[], until: number): { from: number; to: number; ended: boolean } | null {
  const granted = history.find((event) => event.action === 'GRANTED');
  if (!granted) return null;
  const ended = history.find((event) => ACCESS_ENDED.has(event.action) && event.seq > granted.seq);
  return { from: granted.at.getTime(), to: ended ? ended.at.getTime() : until, ended: Boolean(ended) };
}

function emergencyOf(item: ReportItem, invoked: ReportEvent, history: readonly ReportEvent[], until: number): EmergencyItem {
  const due = typeof invoked.details.reviewDueAt === 'string' ? new Date(invoked.details.reviewDueAt) : null;
  const reviewDueAt = due && !Number.isNaN(due.getTime()) ? due : null;
  const flagged = history.find((event) => event.action === 'EMERGENCY_FLAGGED');
  const reviewed = history.find((event) => event.action === 'EMERGENCY_REVIEWED');
  const verdict = flagged ?? reviewed;
  const overdueNotice = history.some((event) => event.action === 'EMERGENCY_REVIEW_OVERDUE');
  let state: ReviewState;
  if (flagged) state = 'flagged';
  else if (reviewed) state = 'reviewed';
  else state = overdueNotice || (reviewDueAt !== null && reviewDueAt.getTime() <= until) ? 'overdue' : 'pending';
  return {
    ...item,
    invokedAt: invoked.at,
    reviewDueAt,
    state,
    reviewer: verdict?.actor ?? null,
    reviewedAt: verdict?.at ?? null,
    flagReason: flagged && typeof flagged.details.reason === 'string' ? flagged.details.reason : null,
    late: Boolean(verdict && reviewDueAt && verdict.at.getTime() > reviewDueAt.getTime()),
  };
}

/** Each run of failed revocations (first REVOKE_FAILED to the event that finally took the access away) that
 * overlaps the period. A later run (a new revocation failing again) is a separate entry. */
function failedRevocationsOf(item: ReportItem, history: readonly ReportEvent[], since: number, until: number): FailedRevocationItem[] {
  const found: FailedRevocationItem[] = [];
  let open: FailedRevocationItem | null = null;
  const close = (end: number | null) => {
    if (!open) return;
    const to = end ?? until;
    open.resolvedAt = end === null ? null : new Date(end);
    open.failingSeconds = Math.round((to - open.firstFailedAt.getTime()) / 1000);
    if (open.firstFailedAt.getTime() < until && to >= since) found.push(open);
    open = null;
  };
  for (const event of history) {
    if (event.action === 'REVOKE_FAILED') {
      open ??= { ...item, firstFailedAt: event.at, attempts: 0, lastError: null, resolvedAt: null, failingSeconds: 0 };
      open.attempts += 1;
      open.lastError = typeof event.details.error === 'string' ? event.details.error : open.lastError;
    } else if (ACCESS_ENDED.has(event.action)) {
      close(event.at.getTime());
    }
  }
  close(null);
  return found;
}
