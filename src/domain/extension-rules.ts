/** When active access may be extended, and by whom. Pure: the service re-checks inside its transactions. */
import { onCallUnknown, type Refusal, type Result } from './approval-rules';
import { formatDuration, parseDuration } from './duration';
import type { RequestState } from './request-state';
import { inlineCode } from './user-text';
import type { ExtensionRule } from '../policy/types';

export const EXTEND_EXAMPLE = '/breakglass extend BG-1042 30m';

export type ExtensionStatus = 'PENDING' | 'APPLIED' | 'DENIED' | 'REFUSED' | 'CANCELLED';

export interface ExtensionAsk {
  status: RequestState;
  humanId: string;
  requesterId: string;
  actorId: string;
  grantedAt: Date | null;
  expiresAt: Date | null;
  durationText: string;
  /** Null when the policy no longer has the role: then nothing can be extended. */
  rule: ExtensionRule | null;
  /** The incident the request belongs to has closed (its channel archived, or /breakglass incident close). */
  incidentClosed?: boolean;
}

export type ExtensionAskRefusal = 'not_requester' | 'not_active' | 'bad_duration' | 'too_long' | 'no_rule' | 'incident_closed';

/** Checks an extension request; on success says how long and until when. */
export function checkExtensionAsk(ask: ExtensionAsk): Result<{ extendBySeconds: number; newExpiresAt: Date }, ExtensionAskRefusal> {
  if (ask.actorId !== ask.requesterId) {
    return { ok: false, code: 'not_requester', message: `Only the requester can ask for more time on ${ask.humanId}.` };
  }
  if (ask.status !== 'ACTIVE' || !ask.grantedAt || !ask.expiresAt) {
    return { ok: false, code: 'not_active', message: `${ask.humanId} is not active (it is ${ask.status.toLowerCase()}), so there is nothing to extend.` };
  }
  if (ask.incidentClosed) {
    return {
      ok: false,
      code: 'incident_closed',
      message: `The incident ${ask.humanId} was requested for has been closed (its channel was archived or closed with \`/breakglass incident close\`), so it cannot be extended. If you still need access, request it again in the current incident's channel.`,
    };
  }
  if (!ask.rule) {
    return { ok: false, code: 'no_rule', message: `The policy no longer lists this resource and role, so ${ask.humanId} cannot be extended.` };
  }
  const extendBySeconds = parseDuration(ask.durationText);
  if (extendBySeconds === null) {
    return {
      ok: false,
      code: 'bad_duration',
      message: `${inlineCode(ask.durationText, 40)} is not a duration. Say how much more time you need, e.g. \`30m\` or \`1h\`: \`${EXTEND_EXAMPLE}\`.`,
    };
  }
  const usedSeconds = (ask.expiresAt.getTime() - ask.grantedAt.getTime()) / 1000;
  const leftSeconds = Math.floor(ask.rule.maxTotalSeconds - usedSeconds);
  if (extendBySeconds > leftSeconds) {
    const most = leftSeconds > 0 ? `at most ${formatDuration(leftSeconds)} more` : 'no more time';
    return {
      ok: false,
      code: 'too_long',
      message: `${ask.humanId} may last ${formatDuration(ask.rule.maxTotalSeconds)} in total (policy \`extension.maxTotal\`), so you can ask for ${most}.`,
    };
  }
  return { ok: true, extendBySeconds, newExpiresAt: new Date(ask.expiresAt.getTime() + extendBySeconds * 1000) };
}

export interface ExtensionDecision {
  status: ExtensionStatus;
  requesterId: string;
  actorId: string;
  actorIsApprover: boolean;
  approvedBy: readonly string[];
  /** The role's on-call schedules that could not be checked for a non-approver (PagerDuty down). */
  onCallUnchecked?: readonly string[];
}

export type ExtensionDecisionRefusal = 'not_pending' | 'self_approval' | 'not_approver' | 'already_approved' | 'on_call_unknown';

const extensionStateWords: Record<ExtensionStatus, string> = {
  PENDING: 'waiting for approval',
  APPLIED: 'already approved and applied',
  DENIED: 'already denied',
  REFUSED: 'closed (it could not be applied)',
  CANCELLED: 'closed (the access ended first)',
};

export function extensionNotPending(status: ExtensionStatus): Refusal<'not_pending'> {
  return { ok: false, code: 'not_pending', message: `This extension is ${extensionStateWords[status]}; nothing more to decide.` };
}

export const extensionAlreadyApproved: Refusal<'already_approved'> = {
  ok: false,
  code: 'already_approved',
  message: 'You have already approved this extension; each approver counts once.',
};

export function checkExtensionApproval(decision: ExtensionDecision): Result<object, ExtensionDecisionRefusal> {
  if (decision.status !== 'PENDING') return extensionNotPending(decision.status);
  if (decision.actorId === decision.requesterId) {
    return { ok: false, code: 'self_approval', message: 'You cannot approve more time for yourself; another approver has to.' };
  }
  const unknown = onCallUnknown(decision);
  if (unknown) return unknown;
  if (!decision.actorIsApprover) {
    return { ok: false, code: 'not_approver', message: 'You are not an approver for this resource and role, so your approval would not count.' };
  }
  if (decision.approvedBy.includes(decision.actorId)) return extensionAlreadyApproved;
  return { ok: true };
}

/** Approvers deny an extension; the requester may withdraw it the same way. */
export function checkExtensionDenial(decision: ExtensionDecision): Result<{ withdrawn: boolean }, 'not_pending' | 'not_approver' | 'on_call_unknown'> {
  if (decision.status !== 'PENDING') return extensionNotPending(decision.status);
  if (decision.actorId === decision.requesterId) return { ok: true, withdrawn: true };
  const unknown = onCallUnknown(decision);
  if (unknown) return unknown;
  if (!decision.actorIsApprover) {
    return { ok: false, code: 'not_approver', message: 'Only an approver for this resource and role (or the requester) can deny it.' };
  }
  return { ok: true, withdrawn: false };
}

/** When the "your access ends soon" reminder is due for access granted or extended at `since`, or null when that
 * would be at once (the access is shorter than the warning): the requester has just seen the end time then. */
export function reminderTime(since: Date, expiresAt: Date, remindBeforeSeconds: number): Date | null {
  const at = new Date(expiresAt.getTime() - remindBeforeSeconds * 1000);
  return at.getTime() > since.getTime() ? at : null;
}
