import { parseCommand } from '../../src/domain/command';
import {
  breakGlassAvailableAt,
  checkEmergencyRequest,
  checkFlagReason,
  emergencyDuration,
  escalationRefusal,
  overdueNoticeAt,
  reviewRefusal,
  reviewState,
} from '../../src/domain/emergency-rules';
import type { ValidRequest } from '../../src/domain/request-rules';

const EMERGENCY = { maxDurationSeconds: 1800, reviewers: ['U0SEC'], reviewWithinSeconds: 86_400, notify: [], afterSeconds: 600 };
const CREATED = new Date('2026-03-01T10:00:00Z');
const request = { status: 'PENDING' as const, requesterId: 'U0REQ', humanId: 'BG-7' };

describe('emergency rules', () => {
  const valid = { ok: true, durationSeconds: 1200 } as ValidRequest;
  const target = { resourceId: 'db', roleId: 'write', durationText: '20m', emergency: EMERGENCY };

  it('accepts a request within emergency.maxDuration, and refuses one over it or for a role without emergency access', () => {
    expect(checkEmergencyRequest(valid, target)).toMatchObject({ ok: true, emergency: EMERGENCY });
    expect(checkEmergencyRequest({ ...valid, durationSeconds: 3600 }, { ...target, durationText: '1h' })).toMatchObject({
      ok: false,
      code: 'too_long',
      field: 'duration',
      message: expect.stringMatching(/at most 30m .* you asked for 1h/),
    });
    expect(checkEmergencyRequest(valid, { ...target, emergency: null })).toMatchObject({ ok: false, code: 'emergency_not_allowed', field: 'role' });
    // Too long for the role is reported with the emergency cap; other refusals stand as they are.
    const tooLong = { ok: false, code: 'too_long', field: 'duration', message: 'role max' } as const;
    expect(checkEmergencyRequest(tooLong, target)).toMatchObject({ code: 'too_long', message: expect.stringContaining('at most 30m') });
    const noTicket = { ok: false, code: 'ticket_required', field: 'ticket', message: 'needs a ticket' } as const;
    expect(checkEmergencyRequest(noTicket, target)).toBe(noTicket);
  });

  it('offers Break glass now from createdAt + after, to the requester of a pending request only', () => {
    const at = breakGlassAvailableAt(CREATED, { emergency: EMERGENCY })!;
    expect(at.toISOString()).toBe('2026-03-01T10:10:00.000Z');
    expect(breakGlassAvailableAt(CREATED, { emergency: null })).toBeNull();
    expect(escalationRefusal(request, 'U0REQ', at, new Date('2026-03-01T10:05:00Z'))).toMatchObject({ code: 'too_early', message: expect.stringContaining('10:10 UTC') });
    expect(escalationRefusal(request, 'U0REQ', at, at)).toBeNull();
    expect(escalationRefusal(request, 'U0OTHER', at, at)).toMatchObject({ code: 'not_requester' });
    expect(escalationRefusal({ ...request, status: 'DENIED' }, 'U0REQ', at, at)).toMatchObject({ code: 'not_pending' });
    expect(escalationRefusal(request, 'U0REQ', null, at)).toMatchObject({ code: 'emergency_not_allowed' });
    expect(emergencyDuration(3600, EMERGENCY)).toBe(1800);
    expect(emergencyDuration(600, EMERGENCY)).toBe(600);
  });

  it('lets only a reviewer who is not the requester review, once', () => {
    const open = { verdict: null, reviewedBy: null };
    expect(reviewRefusal(request, open, 'U0SEC', true)).toBeNull();
    expect(reviewRefusal(request, open, 'U0REQ', true)).toMatchObject({ code: 'requester' });
    expect(reviewRefusal(request, open, 'U0X', false)).toMatchObject({ code: 'not_reviewer' });
    expect(reviewRefusal(request, { verdict: 'flagged', reviewedBy: 'U0SEC' }, 'U0SEC2', true)).toMatchObject({
      code: 'already_reviewed',
      message: expect.stringContaining('<@U0SEC> (flagged)'),
    });
    expect(reviewRefusal(request, null, 'U0SEC', true)).toMatchObject({ code: 'not_emergency' });
  });

  it('needs a short reason to flag', () => {
    expect(checkFlagReason('  ')).toMatchObject({ ok: false });
    expect(checkFlagReason('x'.repeat(501))).toMatchObject({ ok: false });
    expect(checkFlagReason(' no incident ')).toEqual({ ok: true, reason: 'no incident' });
  });

  it('sends overdue notices from the deadline, daily, and tells the review state', () => {
    const dueAt = new Date('2026-03-02T10:00:00Z');
    expect(overdueNoticeAt(dueAt, 1)).toEqual(dueAt);
    expect(overdueNoticeAt(dueAt, 3).toISOString()).toBe('2026-03-04T10:00:00.000Z');
    expect(reviewState({ verdict: null, dueAt }, new Date('2026-03-02T09:00:00Z'))).toBe('pending');
    expect(reviewState({ verdict: null, dueAt }, dueAt)).toBe('overdue');
    expect(reviewState({ verdict: 'justified', dueAt }, new Date('2026-03-05T00:00:00Z'))).toBe('justified');
  });

  it('parses /breakglass emergency like a request, reason required', () => {
    expect(parseCommand('emergency payments-db Write 30m INC-1 payouts  down')).toEqual({
      kind: 'emergency',
      resourceId: 'payments-db',
      roleId: 'write',
      durationText: '30m',
      ticket: 'INC-1',
      reason: 'payouts  down',
    });
    expect(parseCommand('emergency payments-db write 30m -  db down')).toMatchObject({ kind: 'emergency', ticket: null, reason: 'db down' });
    expect(parseCommand('emergency payments-db write 30m INC-1')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('always needs a reason') });
    expect(parseCommand('emergency')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('/breakglass emergency <resource>') });
  });
});
