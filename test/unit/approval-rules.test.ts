import { type DecisionContext, checkApproval, checkDenial, notPending, quorumReached, remainingApprovals } from '../../src/domain/approval-rules';
import type { RequestState } from '../../src/domain/request-state';

const REQUESTER = 'U0REQUESTER';
const APPROVER = 'U0APPROVER1';
const OTHER_APPROVER = 'U0APPROVER2';
const OUTSIDER = 'U0OUTSIDER';

function context(overrides: Partial<DecisionContext> = {}): DecisionContext {
  return {
    status: 'PENDING',
    requesterId: REQUESTER,
    actorId: APPROVER,
    actorIsApprover: true,
    approvedBy: [],
    ...overrides,
  };
}

const NON_PENDING: ReadonlyArray<[RequestState, RegExp]> = [
  ['APPROVED', /already approved/],
  ['ACTIVE', /already approved and active/],
  ['REVOKING', /being revoked/],
  ['EXPIRED', /already expired/],
  ['REVOKED', /already revoked/],
  ['DENIED', /already denied/],
  ['FAILED', /failed/],
];

describe('checkApproval', () => {
  it('accepts an approver on a pending request who has not approved yet', () => {
    expect(checkApproval(context())).toEqual({ ok: true });
  });

  it('accepts a second approver when another has already approved', () => {
    expect(checkApproval(context({ actorId: OTHER_APPROVER, approvedBy: [APPROVER] }))).toEqual({ ok: true });
  });

  it('refuses self-approval, even when the requester is an approver', () => {
    const result = checkApproval(context({ actorId: REQUESTER, actorIsApprover: true }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('self_approval');
    expect(result.message).toMatch(/own request/);
  });

  it('refuses someone who is not an approver', () => {
    const result = checkApproval(context({ actorId: OUTSIDER, actorIsApprover: false }));
    expect(result).toMatchObject({ ok: false, code: 'not_approver' });
    if (!result.ok) expect(result.message).toMatch(/not an approver/);
  });

  it('refuses a duplicate approval', () => {
    const result = checkApproval(context({ approvedBy: [OTHER_APPROVER, APPROVER] }));
    expect(result).toMatchObject({ ok: false, code: 'already_approved' });
    if (!result.ok) expect(result.message).toMatch(/already approved/);
  });

  it.each(NON_PENDING)('refuses on a %s request with wording for that state', (status, wording) => {
    const result = checkApproval(context({ status }));
    expect(result).toMatchObject({ ok: false, code: 'not_pending' });
    if (!result.ok) expect(result.message).toMatch(wording);
  });

  it('gives a distinct message for every non-pending state', () => {
    const messages = NON_PENDING.map(([status]) => {
      const result = checkApproval(context({ status }));
      return result.ok ? '' : result.message;
    });
    expect(new Set(messages).size).toBe(NON_PENDING.length);
  });

  describe('order of checks', () => {
    it('answers not_pending before self_approval (the requester clicking on a closed request)', () => {
      expect(checkApproval(context({ status: 'DENIED', actorId: REQUESTER }))).toMatchObject({ code: 'not_pending' });
    });

    it('answers not_pending before not_approver', () => {
      expect(checkApproval(context({ status: 'ACTIVE', actorId: OUTSIDER, actorIsApprover: false }))).toMatchObject({ code: 'not_pending' });
    });

    it('answers not_pending before already_approved', () => {
      expect(checkApproval(context({ status: 'APPROVED', approvedBy: [APPROVER] }))).toMatchObject({ code: 'not_pending' });
    });

    it('answers self_approval before not_approver (a requester who is not an approver)', () => {
      expect(checkApproval(context({ actorId: REQUESTER, actorIsApprover: false }))).toMatchObject({ code: 'self_approval' });
    });

    it('answers not_approver before already_approved', () => {
      // Cannot normally happen, but an approver removed from the policy must not be told they "already approved".
      expect(checkApproval(context({ actorIsApprover: false, approvedBy: [APPROVER] }))).toMatchObject({ code: 'not_approver' });
    });
  });
});

describe('checkDenial', () => {
  it('lets an approver deny (not a withdrawal)', () => {
    expect(checkDenial(context())).toEqual({ ok: true, withdrawn: false });
  });

  it('lets an approver who already approved still deny', () => {
    expect(checkDenial(context({ approvedBy: [APPROVER] }))).toEqual({ ok: true, withdrawn: false });
  });

  it('lets the requester withdraw their own request, even when not an approver', () => {
    expect(checkDenial(context({ actorId: REQUESTER, actorIsApprover: false }))).toEqual({ ok: true, withdrawn: true });
  });

  it('treats the requester as withdrawing even when they are also an approver', () => {
    expect(checkDenial(context({ actorId: REQUESTER, actorIsApprover: true }))).toEqual({ ok: true, withdrawn: true });
  });

  it('refuses an outsider', () => {
    const result = checkDenial(context({ actorId: OUTSIDER, actorIsApprover: false }));
    expect(result).toMatchObject({ ok: false, code: 'not_approver' });
    if (!result.ok) expect(result.message).toMatch(/approver/);
  });

  it.each(NON_PENDING)('refuses on a %s request, also for the requester', (status, wording) => {
    for (const actorId of [APPROVER, REQUESTER]) {
      const result = checkDenial(context({ status, actorId }));
      expect(result).toMatchObject({ ok: false, code: 'not_pending' });
      if (!result.ok) expect(result.message).toMatch(wording);
    }
  });
});

describe('notPending', () => {
  it('is a not_pending refusal that says nothing more can be decided', () => {
    const refusal = notPending('EXPIRED');
    expect(refusal).toMatchObject({ ok: false, code: 'not_pending' });
    expect(refusal.message).toMatch(/already expired/);
    expect(refusal.message).toMatch(/nothing more to decide/);
  });
});

describe('quorumReached / remainingApprovals', () => {
  it.each([
    // approvals, required, reached, remaining
    [0, 1, false, 1],
    [1, 1, true, 0],
    [0, 2, false, 2],
    [1, 2, false, 1],
    [2, 2, true, 0],
    [3, 2, true, 0],
    [2, 3, false, 1],
  ])('%i of %i approvals: reached=%s, remaining=%i', (count, required, reached, remaining) => {
    expect(quorumReached(count, required)).toBe(reached);
    expect(remainingApprovals(count, required)).toBe(remaining);
  });

  it('never reports a negative remainder', () => {
    expect(remainingApprovals(5, 1)).toBe(0);
  });

  it('agrees with itself: quorum is reached exactly when nothing remains', () => {
    for (let required = 1; required <= 4; required++) {
      for (let count = 0; count <= 5; count++) {
        expect(quorumReached(count, required)).toBe(remainingApprovals(count, required) === 0);
      }
    }
  });
});
