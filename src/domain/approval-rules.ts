import { onCallLabel } from './on-call';
import type { RequestState } from './request-state';

export type Refusal<Code extends string> = { ok: false; code: Code; message: string };
export type Result<Value, Code extends string> = ({ ok: true } & Value) | Refusal<Code>;

export type DecisionRefusalCode = 'not_pending' | 'self_approval' | 'not_approver' | 'already_approved' | 'on_call_unknown';

export interface DecisionContext {
  status: RequestState;
  requesterId: string;
  actorId: string;
  /** Whether the actor is on the approver list of the requested role (directly or through a user group). */
  actorIsApprover: boolean;
  /** Approver ids already recorded for this request. */
  approvedBy: readonly string[];
  /** The role's on-call schedules (pagerduty:…) that could not be checked for a non-approver: PagerDuty is down. */
  onCallUnchecked?: readonly string[];
}

/** A non-approver who may be on call on a schedule PagerDuty cannot tell us about: not "you are not an approver".
 * Shared with extension decisions. */
export function onCallUnknown(context: Pick<DecisionContext, 'actorIsApprover' | 'onCallUnchecked'>): Refusal<'on_call_unknown'> | null {
  const unchecked = context.onCallUnchecked ?? [];
  if (context.actorIsApprover || unchecked.length === 0) return null;
  const schedules = unchecked.map(onCallLabel).join(', ');
  return {
    ok: false,
    code: 'on_call_unknown',
    message: `PagerDuty cannot be reached right now, so I cannot check whether you are on call (${schedules}); nothing was recorded. The role's other approvers can still decide, or try again in a minute.`,
  };
}

const stateWords: Record<RequestState, string> = {
  PENDING: 'waiting for approval',
  APPROVED: 'already approved',
  ACTIVE: 'already approved and active',
  REVOKING: 'being revoked',
  EXPIRED: 'already expired',
  REVOKED: 'already revoked',
  DENIED: 'already denied',
  FAILED: 'already closed (it failed)',
  TIMED_OUT: 'expired without a decision (requests wait for approval only so long)',
};

export function notPending(status: RequestState): Refusal<'not_pending'> {
  return { ok: false, code: 'not_pending', message: `This request is ${stateWords[status]}; nothing more to decide.` };
}

export const alreadyApproved: Refusal<'already_approved'> = {
  ok: false,
  code: 'already_approved',
  message: 'You have already approved this request; each approver counts once.',
};

/** Whether the actor may approve. Checked again inside the database transaction; this gives the clear answer. */
export function checkApproval(context: DecisionContext): Result<object, DecisionRefusalCode> {
  if (context.status !== 'PENDING') return notPending(context.status);
  if (context.actorId === context.requesterId) {
    return { ok: false, code: 'self_approval', message: 'You cannot approve your own request; another approver has to.' };
  }
  const unknown = onCallUnknown(context);
  if (unknown) return unknown;
  if (!context.actorIsApprover) {
    return { ok: false, code: 'not_approver', message: 'You are not an approver for this resource and role, so your approval would not count.' };
  }
  if (context.approvedBy.includes(context.actorId)) return alreadyApproved;
  return { ok: true };
}

/** Approvers deny; the requester may withdraw their own request the same way. */
export function checkDenial(context: DecisionContext): Result<{ withdrawn: boolean }, Exclude<DecisionRefusalCode, 'self_approval' | 'already_approved'>> {
  if (context.status !== 'PENDING') return notPending(context.status);
  if (context.actorId === context.requesterId) return { ok: true, withdrawn: true };
  const unknown = onCallUnknown(context);
  if (unknown) return unknown;
  if (!context.actorIsApprover) {
    return { ok: false, code: 'not_approver', message: 'Only an approver for this resource and role (or the requester) can deny it.' };
  }
  return { ok: true, withdrawn: false };
}

export function remainingApprovals(approvalCount: number, required: number): number {
  return Math.max(0, required - approvalCount);
}

export function quorumReached(approvalCount: number, required: number): boolean {
  return approvalCount >= required;
}
