import type { ReportEvent, ReportRequestRef } from '../../src/domain/access-report';

/** A week of audit events as the bot writes them (details as in src/requests/* and the emergency actions of issue 12),
 * for requests BG-1 … BG-10 around the period 2026-11-02 09:00Z – 2026-11-09 09:00Z. */
export const since = new Date('2026-11-02T09:00:00Z');
export const until = new Date('2026-11-09T09:00:00Z');
export const at = (iso: string) => new Date(iso);

export const refs = new Map<string, ReportRequestRef>();
export const events: ReportEvent[] = [];
let seq = 0;

function request(n: number, requester: string, resource: string, role: string, messageTs: string | null = `1700000000.00000${n}`) {
  const requestId = `00000000-0000-4000-8000-00000000000${n.toString(16)}`;
  refs.set(requestId, { requestId, number: n, channelId: 'C0INCIDENT', messageTs, requesterId: requester, resourceId: resource, roleId: role });
  const add = (when: string, action: string, details: Record<string, unknown> = {}, actor = 'system') => {
    events.push({ seq: ++seq, at: at(when), requestId, actor, action, details });
  };
  return {
    requestId,
    requested: (when: string) =>
      add(when, 'REQUESTED', { resource, role, durationSeconds: 3600, ticket: 'INC-1', reason: 'x', login: requester.toLowerCase(), channel: 'C0INCIDENT' }, requester),
    add,
  };
}

// BG-1: a plain grant of an hour, approved.
const r1 = request(1, 'U0ALICE', 'payments-db', 'read');
r1.requested('2026-11-03T10:00:00Z');
r1.add('2026-11-03T10:04:00Z', 'APPROVAL_RECORDED', {}, 'U0APPROVER1');
r1.add('2026-11-03T10:04:00Z', 'QUORUM_REACHED', { from: ['PENDING'], to: 'APPROVED' }, 'U0APPROVER1');
r1.add('2026-11-03T10:05:00Z', 'GRANTED', { from: ['APPROVED'], to: 'ACTIVE', login: 'alice', grant: 'payments_read', expiresAt: '2026-11-03T11:05:00Z' });
r1.add('2026-11-03T11:05:00Z', 'EXPIRED', { from: ['REVOKING'], to: 'EXPIRED', login: 'alice', grant: 'payments_read' });
// BG-2: denied.
const r2 = request(2, 'U0BOB', 'payments-db', 'write');
r2.requested('2026-11-04T08:00:00Z');
r2.add('2026-11-04T08:10:00Z', 'DENIED', { from: ['PENDING'], to: 'DENIED' }, 'U0APPROVER1');
// BG-3: nobody decided.
const r3 = request(3, 'U0CAROL', 'payments-db', 'read');
r3.requested('2026-11-05T12:00:00Z');
r3.add('2026-11-05T13:00:00Z', 'TIMED_OUT', { from: ['PENDING'], to: 'TIMED_OUT', requestTtlSeconds: 3600 });
// BG-4: an emergency grant, revoked early; the revocation fails three times over an hour; reviewed in time.
const r4 = request(4, 'U0ALICE', 'payments-db', 'write');
r4.requested('2026-11-06T02:00:00Z');
r4.add('2026-11-06T02:00:01Z', 'EMERGENCY_INVOKED', { via: 'command', reviewers: ['U0REVIEWER'], reviewDueAt: '2026-11-07T02:00:01Z' }, 'U0ALICE');
r4.add('2026-11-06T02:00:05Z', 'GRANTED', { login: 'alice', grant: 'payments_write', expiresAt: '2026-11-06T04:00:00Z' });
r4.add('2026-11-06T03:00:00Z', 'REVOKE_REQUESTED', { from: ['ACTIVE'], to: 'REVOKING' }, 'U0ALICE');
r4.add('2026-11-06T03:00:01Z', 'REVOKE_FAILED', { error: 'connection refused', attempt: 1 });
r4.add('2026-11-06T03:01:00Z', 'REVOKE_FAILED', { error: 'connection refused', attempt: 2 });
r4.add('2026-11-06T03:05:00Z', 'REVOKE_FAILED', { error: 'timeout', attempt: 3 });
r4.add('2026-11-06T03:05:00Z', 'REVOKE_ALERTED', { attempts: 3, error: 'timeout' });
r4.add('2026-11-06T04:00:01Z', 'REVOKED', { from: ['REVOKING'], to: 'REVOKED', login: 'alice', grant: 'payments_write' });
r4.add('2026-11-06T10:00:00Z', 'EMERGENCY_REVIEWED', { verdict: 'justified' }, 'U0REVIEWER');
// BG-5: an emergency grant flagged by its reviewer.
const r5 = request(5, 'U0DAVE', 'deploy-console', 'operator');
r5.requested('2026-11-07T01:00:00Z');
r5.add('2026-11-07T01:00:01Z', 'EMERGENCY_INVOKED', { via: 'form', reviewers: ['U0REVIEWER'], reviewDueAt: '2026-11-08T01:00:01Z' }, 'U0DAVE');
r5.add('2026-11-07T01:00:02Z', 'GRANTED', { login: 'dave', grant: 'operator', expiresAt: '2026-11-07T01:30:02Z' });
r5.add('2026-11-07T01:30:02Z', 'EXPIRED', { login: 'dave', grant: 'operator' });
r5.add('2026-11-08T05:00:00Z', 'EMERGENCY_FLAGGED', { reason: 'no incident | *not* <!here> justified' }, 'U0REVIEWER');
// BG-6: an emergency grant nobody reviewed; overdue notice; still active at the end of the period.
const r6 = request(6, 'U0ERIN', 'payments-db', 'write');
r6.requested('2026-11-07T12:00:00Z');
r6.add('2026-11-07T12:00:01Z', 'EMERGENCY_INVOKED', { via: 'escalation', reviewers: ['U0REVIEWER'], reviewDueAt: '2026-11-08T12:00:01Z' }, 'U0ERIN');
r6.add('2026-11-07T12:00:02Z', 'GRANTED', { login: 'erin', grant: 'payments_write', expiresAt: '2026-11-09T12:00:00Z' });
r6.add('2026-11-08T12:00:01Z', 'EMERGENCY_REVIEW_OVERDUE', { dueAt: '2026-11-08T12:00:01Z', notice: 1 });
// BG-7: an emergency grant of the last hour, its review not due yet; the approval message never posted.
const r7 = request(7, 'U0FRANK', 'payments-db', 'read', null);
r7.requested('2026-11-09T08:00:00Z');
r7.add('2026-11-09T08:00:01Z', 'EMERGENCY_INVOKED', { via: 'command', reviewers: ['U0REVIEWER'], reviewDueAt: '2026-11-10T08:00:01Z' }, 'U0FRANK');
r7.add('2026-11-09T08:00:02Z', 'GRANTED', { login: 'frank', grant: 'payments_read', expiresAt: '2026-11-09T08:30:02Z' });
r7.add('2026-11-09T08:30:02Z', 'EXPIRED', { login: 'frank', grant: 'payments_read' });
// BG-8: granted before the period, its revocation failing since before the period and still failing at its end.
const r8 = request(8, 'U0GRACE', 'payments-db', 'read');
r8.requested('2026-10-31T08:00:00Z');
r8.add('2026-10-31T09:00:00Z', 'GRANTED', { login: 'grace', grant: 'payments_read', expiresAt: '2026-11-01T09:00:00Z' });
r8.add('2026-11-01T09:00:00Z', 'EXPIRY_REACHED', { from: ['ACTIVE'], to: 'REVOKING' });
r8.add('2026-11-01T09:00:01Z', 'REVOKE_FAILED', { error: 'role is in use', attempt: 1 });
r8.add('2026-11-05T09:00:01Z', 'REVOKE_FAILED', { error: 'role is in use', attempt: 2 });
// BG-9: all of it before the period.
const r9 = request(9, 'U0HEIDI', 'payments-db', 'read');
r9.requested('2026-10-20T08:00:00Z');
r9.add('2026-10-20T08:01:00Z', 'GRANTED', { login: 'heidi', grant: 'payments_read' });
r9.add('2026-10-20T09:01:00Z', 'EXPIRED', { login: 'heidi', grant: 'payments_read' });
// BG-10: after the period (the report is as of its end).
const r10 = request(10, 'U0IVAN', 'payments-db', 'read');
r10.requested('2026-11-09T10:00:00Z');
r10.add('2026-11-09T10:01:00Z', 'DENIED', {}, 'U0APPROVER1');
