/** The life of an access request. Every status change in the database goes through `assertTransition`, and
 * the UPDATE itself is conditional on the old status, so two racing actors cannot both move a request. */
export type RequestState = 'PENDING' | 'APPROVED' | 'ACTIVE' | 'REVOKING' | 'EXPIRED' | 'REVOKED' | 'DENIED' | 'FAILED' | 'TIMED_OUT';

const allowedTransitions: Record<RequestState, readonly RequestState[]> = {
  // PENDING → TIMED_OUT when nobody decided within the policy's requestTtl.
  PENDING: ['APPROVED', 'DENIED', 'FAILED', 'TIMED_OUT'],
  // APPROVED → REVOKING when the grant fails (roll back) or expiry arrives while granting; → EXPIRED when an expiry
  // sweep finds it due and revokes whatever may be there in one step (a grant re-checks the status before granting).
  APPROVED: ['ACTIVE', 'REVOKING', 'EXPIRED'],
  // ACTIVE → EXPIRED when an expiry sweep revoked it on the target and records both at once; → REVOKING on the way
  // to REVOKED (Revoke now, I'm done) or when a revocation at expiry failed and is retried.
  ACTIVE: ['REVOKING', 'EXPIRED'],
  // REVOKING ends in the state named by the request's endReason.
  REVOKING: ['EXPIRED', 'REVOKED', 'FAILED'],
  EXPIRED: [],
  REVOKED: [],
  DENIED: [],
  FAILED: [],
  TIMED_OUT: [],
};

export type EndReason = 'expired' | 'revoked' | 'grant_failed';

export function canTransition(from: RequestState, to: RequestState): boolean {
  return allowedTransitions[from].includes(to);
}

export class InvalidTransitionError extends Error {
  override readonly name = 'InvalidTransitionError';
  constructor(from: RequestState, to: RequestState) {
    super(`a request cannot go from ${from} to ${to}`);
  }
}

export function assertTransition(from: readonly RequestState[], to: RequestState): void {
  for (const state of from) if (!canTransition(state, to)) throw new InvalidTransitionError(state, to);
}

export function isFinal(state: RequestState): boolean {
  return allowedTransitions[state].length === 0;
}

/** States in which a request holds its access or may still come to: a requester has at most one such request per
 * resource and role (a partial unique index guards it). REVOKING is not among them: that access is on its way out. */
export const liveRequestStates: readonly RequestState[] = ['PENDING', 'APPROVED', 'ACTIVE'];

/** States in which access may exist on the target, so the expiry machinery must still act. */
export const accessMayExistStates: readonly RequestState[] = ['APPROVED', 'ACTIVE', 'REVOKING'];

export function finalStateFor(reason: EndReason): RequestState {
  switch (reason) {
    case 'expired':
      return 'EXPIRED';
    case 'revoked':
      return 'REVOKED';
    case 'grant_failed':
      return 'FAILED';
  }
}
