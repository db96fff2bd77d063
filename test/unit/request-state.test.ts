import { type EndReason, InvalidTransitionError, type RequestState, assertTransition, canTransition, finalStateFor, isFinal } from '../../src/domain/request-state';

const ALL_STATES: readonly RequestState[] = ['PENDING', 'APPROVED', 'ACTIVE', 'REVOKING', 'EXPIRED', 'REVOKED', 'DENIED', 'FAILED'];
const FINAL_STATES: readonly RequestState[] = ['EXPIRED', 'REVOKED', 'DENIED', 'FAILED'];
const NON_FINAL_STATES: readonly RequestState[] = ['PENDING', 'APPROVED', 'ACTIVE', 'REVOKING'];

/** The lifecycle as specified: written out independently of the implementation's table. */
const ALLOWED: ReadonlyArray<[RequestState, RequestState]> = [
  ['PENDING', 'APPROVED'],
  ['PENDING', 'DENIED'],
  ['PENDING', 'FAILED'],
  ['APPROVED', 'ACTIVE'],
  ['APPROVED', 'REVOKING'],
  // An expiry sweep revokes and records in one step (a failed revoke goes through REVOKING instead).
  ['APPROVED', 'EXPIRED'],
  ['ACTIVE', 'REVOKING'],
  ['ACTIVE', 'EXPIRED'],
  ['REVOKING', 'EXPIRED'],
  ['REVOKING', 'REVOKED'],
  ['REVOKING', 'FAILED'],
];

const isAllowed = (from: RequestState, to: RequestState) => ALLOWED.some(([f, t]) => f === from && t === to);

describe('canTransition', () => {
  it.each(ALLOWED)('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each([
    ['PENDING', 'ACTIVE'],
    ['PENDING', 'REVOKING'],
    ['PENDING', 'EXPIRED'],
    ['PENDING', 'REVOKED'],
    ['APPROVED', 'DENIED'],
    ['APPROVED', 'REVOKED'],
    ['APPROVED', 'PENDING'],
    ['ACTIVE', 'DENIED'],
    ['ACTIVE', 'REVOKED'],
    ['ACTIVE', 'PENDING'],
    ['ACTIVE', 'APPROVED'],
    ['REVOKING', 'ACTIVE'],
    ['REVOKING', 'DENIED'],
    ['REVOKING', 'PENDING'],
  ] as Array<[RequestState, RequestState]>)('forbids %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it('forbids staying in the same state', () => {
    for (const state of ALL_STATES) expect(canTransition(state, state)).toBe(false);
  });

  it('lets nothing leave a final state', () => {
    for (const from of FINAL_STATES) {
      for (const to of ALL_STATES) expect([from, to, canTransition(from, to)]).toEqual([from, to, false]);
    }
  });

  it('allows exactly the listed pairs and nothing else', () => {
    const actual = ALL_STATES.flatMap((from) => ALL_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`));
    const expected = ALL_STATES.flatMap((from) => ALL_STATES.filter((to) => isAllowed(from, to)).map((to) => `${from}→${to}`));
    expect(actual.sort()).toEqual(expected.sort());
  });
});

describe('assertTransition', () => {
  it('passes silently when every source state may move to the target', () => {
    expect(() => assertTransition(['PENDING'], 'APPROVED')).not.toThrow();
    expect(() => assertTransition(['APPROVED', 'ACTIVE'], 'REVOKING')).not.toThrow();
    expect(() => assertTransition(['PENDING', 'REVOKING'], 'FAILED')).not.toThrow();
  });

  it('throws InvalidTransitionError naming both states', () => {
    let thrown: unknown;
    try {
      assertTransition(['PENDING'], 'ACTIVE');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidTransitionError);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).name).toBe('InvalidTransitionError');
    expect((thrown as Error).message).toContain('PENDING');
    expect((thrown as Error).message).toContain('ACTIVE');
  });

  it('throws when any one of several source states may not move, naming that state', () => {
    // ACTIVE → REVOKING is fine, PENDING → REVOKING is not.
    expect(() => assertTransition(['ACTIVE', 'PENDING'], 'REVOKING')).toThrow(InvalidTransitionError);
    expect(() => assertTransition(['ACTIVE', 'PENDING'], 'REVOKING')).toThrow(/PENDING.*REVOKING/);
  });

  it('refuses to move out of a final state', () => {
    expect(() => assertTransition(['DENIED'], 'APPROVED')).toThrow(/DENIED.*APPROVED/);
    expect(() => assertTransition(['EXPIRED'], 'REVOKING')).toThrow(InvalidTransitionError);
  });

  it('refuses ACTIVE → DENIED', () => {
    expect(() => assertTransition(['ACTIVE'], 'DENIED')).toThrow(/ACTIVE.*DENIED/);
  });
});

describe('isFinal', () => {
  it.each(FINAL_STATES)('%s is final', (state) => {
    expect(isFinal(state)).toBe(true);
  });

  it.each(NON_FINAL_STATES)('%s is not final', (state) => {
    expect(isFinal(state)).toBe(false);
  });
});

describe('finalStateFor', () => {
  it.each([
    ['expired', 'EXPIRED'],
    ['revoked', 'REVOKED'],
    ['grant_failed', 'FAILED'],
  ] as Array<[EndReason, RequestState]>)('%s ends in %s', (reason, state) => {
    expect(finalStateFor(reason)).toBe(state);
  });

  it('names states that are final and reachable from REVOKING', () => {
    for (const reason of ['expired', 'revoked', 'grant_failed'] as EndReason[]) {
      const state = finalStateFor(reason);
      expect(isFinal(state)).toBe(true);
      expect(canTransition('REVOKING', state)).toBe(true);
    }
  });
});
