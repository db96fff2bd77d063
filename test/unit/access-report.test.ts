import { computeAccessReport } from '../../src/domain/access-report';
import { at, events, refs, since, until } from '../support/report-history';

const report = computeAccessReport({ since, until }, events, refs);
const H = 3600;

describe('computeAccessReport over a week of audit events', () => {
  test('totals: requests made, grants held and access time within the period only', () => {
    // Requests made in the period: BG-1 … BG-7 (BG-8/9 before, BG-10 after).
    expect(report.totals.requests).toBe(7);
    // Grants held in the period: BG-1, 4, 5, 6, 7, 8.
    expect(report.totals.grants).toBe(6);
    const bg8 = (until.getTime() - since.getTime()) / 1000; // held the whole week: its revocation never succeeded
    const bg6 = (until.getTime() - at('2026-11-07T12:00:02Z').getTime()) / 1000;
    expect(report.totals.accessSeconds).toBe(H + (2 * H - 4) + 30 * 60 + bg6 + 30 * 60 + bg8);
    expect(report.totals).toMatchObject({ emergencyGrants: 4, denied: 1, timedOut: 1, failedRevocations: 2 });
  });

  test('grants by resource and role, most access time first', () => {
    expect(report.byResourceRole.map((row) => [row.resource, row.role, row.grants])).toEqual([
      ['payments-db', 'read', 3],
      ['payments-db', 'write', 2],
      ['deploy-console', 'operator', 1],
    ]);
  });

  test('emergency grants and their review state: flagged, overdue, pending, reviewed, in that order', () => {
    expect(report.emergency.map((item) => [item.request, item.state, item.reviewer])).toEqual([
      ['BG-5', 'flagged', 'U0REVIEWER'],
      ['BG-6', 'overdue', null],
      ['BG-7', 'pending', null],
      ['BG-4', 'reviewed', 'U0REVIEWER'],
    ]);
    const flagged = report.emergency[0];
    expect(flagged.flagReason).toBe('no incident | *not* <!here> justified');
    expect(flagged.late).toBe(true); // flagged after its deadline
    expect(report.emergency[3].late).toBe(false);
    expect(report.emergency[2].reviewDueAt?.toISOString()).toBe('2026-11-10T08:00:01.000Z');
  });

  test('failed revocations: how long until they succeeded, or still failing', () => {
    expect(report.failedRevocations.map((item) => [item.request, item.attempts, item.resolvedAt?.toISOString() ?? null, item.failingSeconds, item.lastError])).toEqual([
      ['BG-8', 2, null, (until.getTime() - at('2026-11-01T09:00:01Z').getTime()) / 1000, 'role is in use'],
      ['BG-4', 3, '2026-11-06T04:00:01.000Z', H, 'timeout'],
    ]);
  });

  test('denied and timed-out requests with who and when', () => {
    expect(report.denied.map((item) => [item.request, item.requester, item.by])).toEqual([['BG-2', 'U0BOB', 'U0APPROVER1']]);
    expect(report.timedOut.map((item) => [item.request, item.requester, item.at.toISOString()])).toEqual([['BG-3', 'U0CAROL', '2026-11-05T13:00:00.000Z']]);
  });

  test('the longest grants (whole duration, still held ones to the end of the period) and top requesters', () => {
    expect(report.longestGrants.map((item) => [item.request, item.endedAt === null, item.emergency])).toEqual([
      ['BG-8', true, false],
      ['BG-6', true, true],
      ['BG-4', false, true],
      ['BG-1', false, false],
      ['BG-5', false, true],
      ['BG-7', false, true],
    ]);
    expect(report.topRequesters[0]).toEqual({ requester: 'U0ALICE', requests: 2, grants: 2, accessSeconds: H + 2 * H - 4 });
    // Grace made no request in the period but held access in it.
    expect(report.topRequesters.find((row) => row.requester === 'U0GRACE')).toMatchObject({ requests: 0, grants: 1 });
    expect(report.topRequesters.some((row) => row.requester === 'U0HEIDI' || row.requester === 'U0IVAN')).toBe(false);
  });

  test('every item carries its thread (channel from REQUESTED, ts from the request), and the source range', () => {
    const item = report.denied[0];
    expect([item.channelId, item.messageTs]).toEqual(['C0INCIDENT', '1700000000.000002']);
    expect(report.emergency.find((e) => e.request === 'BG-7')?.messageTs).toBeNull();
    // Events after the period's end are not used.
    const used = events.filter((event) => event.at < until);
    expect(report.source).toEqual({ events: used.length, firstSeq: 1, lastSeq: Math.max(...used.map((e) => e.seq)) });
  });

  test('an empty period gives an empty report', () => {
    const empty = computeAccessReport({ since: at('2025-01-01T00:00:00Z'), until: at('2025-01-08T00:00:00Z') }, [], new Map());
    expect(empty.totals).toEqual({ requests: 0, grants: 0, accessSeconds: 0, emergencyGrants: 0, denied: 0, timedOut: 0, failedRevocations: 0 });
    expect(empty.source).toEqual({ events: 0, firstSeq: null, lastSeq: null });
  });
});
