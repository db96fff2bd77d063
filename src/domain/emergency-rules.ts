/** Emergency access (break glass): who may take it, for how long, when a waiting request may be broken open, and who
 * may review the grant afterwards. Pure; the use cases (requests/emergency-*.ts) look things up and enforce these. */
import type { Refusal } from './approval-rules';
import { formatDuration } from './duration';
import type { RejectedRequest, TypedRequest, ValidRequest } from './request-rules';
import type { RequestState } from './request-state';
import type { EmergencyRule, ReviewView } from './emergency-types';
import { formatUtcTime } from './utc-time';

export type { EmergencyRule, EmergencyVia, ReviewVerdict, ReviewView } from './emergency-types';

export type ReviewState = 'justified' | 'flagged' | 'pending' | 'overdue';

export const DAY_SECONDS = 86_400;
export const MAX_FLAG_REASON_LENGTH = 500;

export type ValidEmergency = ValidRequest & { emergency: EmergencyRule };

/** A request already checked as a normal one (validateRequest), checked as an emergency: the role allows it, and the
 * duration is within emergency.maxDuration (too long for the role is too long for an emergency too; the emergency
 * cap, never longer, is what the message names). */
export function checkEmergencyRequest(
  validation: ValidRequest | RejectedRequest,
  target: { resourceId: string; roleId: string; durationText: string; emergency: EmergencyRule | null | undefined } | null,
): ValidEmergency | RejectedRequest {
  if (!validation.ok && validation.code !== 'too_long') return validation;
  if (!target) return validation as RejectedRequest;
  const { emergency } = target;
  if (!emergency) {
    return {
      ok: false,
      code: 'emergency_not_allowed',
      field: 'role',
      message: `\`${target.resourceId}\` / \`${target.roleId}\` does not allow emergency access (the policy's \`emergency.allowed\`); request it normally, and the approvers will be asked.`,
    };
  }
  if (!validation.ok || validation.durationSeconds > emergency.maxDurationSeconds) {
    return { ok: false, code: 'too_long', field: 'duration', message: tooLongMessage(emergency, target.durationText) };
  }
  return { ...validation, emergency };
}

function tooLongMessage(emergency: EmergencyRule, durationText: string): string {
  return `Emergency access lasts at most ${formatDuration(emergency.maxDurationSeconds)} for this role (\`emergency.maxDuration\`); you asked for ${durationText}. Ask for ${formatDuration(emergency.maxDurationSeconds)} or less — you can extend it later, with approval. Nothing was changed.`;
}

/** When the requester of a waiting request of this role may break the glass; null when the role does not allow it. */
export function breakGlassAvailableAt(createdAt: Date, role: { emergency?: Pick<EmergencyRule, 'afterSeconds'> | null } | null | undefined): Date | null {
  const emergency = role?.emergency;
  return emergency ? new Date(createdAt.getTime() + emergency.afterSeconds * 1000) : null;
}

/** An escalated request's duration: what was asked, within emergency.maxDuration. */
export function emergencyDuration(requestedSeconds: number, emergency: EmergencyRule): number {
  return Math.min(requestedSeconds, emergency.maxDurationSeconds);
}

export type EscalationRefusalCode = 'not_requester' | 'not_pending' | 'emergency_not_allowed' | 'too_early';

/** Whether `actorId` may break open this request now ("Break glass now"). */
export function escalationRefusal(
  request: { status: RequestState; requesterId: string; humanId: string },
  actorId: string,
  availableAt: Date | null,
  now: Date,
): Refusal<EscalationRefusalCode> | null {
  if (actorId !== request.requesterId) {
    return { ok: false, code: 'not_requester', message: `Only the requester of ${request.humanId} can break the glass on it.` };
  }
  if (request.status !== 'PENDING') {
    return { ok: false, code: 'not_pending', message: `${request.humanId} is no longer waiting for approval (${request.status.toLowerCase()}); nothing was changed.` };
  }
  if (!availableAt) return { ok: false, code: 'emergency_not_allowed', message: `The role of ${request.humanId} does not allow emergency access; it waits for its approvers.` };
  if (availableAt.getTime() > now.getTime()) {
    return {
      ok: false,
      code: 'too_early',
      message: `Emergency access on ${request.humanId} is possible from ${formatUtcTime(availableAt, now)} (the policy's \`emergency.after\`); until then it waits for its approvers.`,
    };
  }
  return null;
}

export type ReviewRefusalCode = 'not_reviewer' | 'requester' | 'already_reviewed' | 'not_emergency';

/** Whether `actorId` may review (mark justified or flag) this emergency grant; the same-login check comes from
 * people.ts (samePersonRefusal, subject 'emergency review'). */
export function reviewRefusal(
  request: { requesterId: string; humanId: string },
  review: { verdict: string | null; reviewedBy: string | null } | null,
  actorId: string,
  actorIsReviewer: boolean,
): Refusal<ReviewRefusalCode> | null {
  if (!review) return { ok: false, code: 'not_emergency', message: `${request.humanId} is not an emergency grant; there is nothing to review.` };
  if (actorId === request.requesterId) {
    return { ok: false, code: 'requester', message: `You invoked emergency access on ${request.humanId}; someone else has to review it.` };
  }
  if (!actorIsReviewer) {
    return { ok: false, code: 'not_reviewer', message: `Only the emergency reviewers of this role (the policy's \`emergency.reviewers\`) can review ${request.humanId}.` };
  }
  if (review.verdict) {
    const by = review.reviewedBy ? ` by <@${review.reviewedBy}>` : '';
    return { ok: false, code: 'already_reviewed', message: `${request.humanId} was already reviewed${by} (${review.verdict}); nothing was changed.` };
  }
  return null;
}

/** The reason a flag gives, trimmed; a refusal when empty or too long. */
export function checkFlagReason(text: string): { ok: true; reason: string } | Refusal<'bad_reason'> {
  const reason = text.trim();
  if (reason === '') return { ok: false, code: 'bad_reason', message: 'Say why you flag this emergency access: it goes to the security channel.' };
  if (reason.length > MAX_FLAG_REASON_LENGTH) return { ok: false, code: 'bad_reason', message: `Keep it to ${MAX_FLAG_REASON_LENGTH} characters (it is ${reason.length}).` };
  return { ok: true, reason };
}

/** When overdue notice number `notice` (1, 2, …) is due: at the review deadline, then daily. */
export function overdueNoticeAt(dueAt: Date, notice: number): Date {
  return new Date(dueAt.getTime() + (notice - 1) * DAY_SECONDS * 1000);
}

export function reviewState(review: Pick<ReviewView, 'verdict' | 'dueAt'>, now: Date): ReviewState {
  if (review.verdict) return review.verdict;
  return review.dueAt.getTime() <= now.getTime() ? 'overdue' : 'pending';
}

/** What the confirmation shows; the request itself travels in the form's private_metadata. */
export interface EmergencyConfirmation {
  request: EmergencyRequestInput;
  durationSeconds: number;
  reviewers: readonly string[];
  /** The security channel and the role's notify channels. */
  alertChannels: readonly string[];
  reviewWithinSeconds: number;
}

/** The request as typed (command or form), carried through the confirmation. */
export interface EmergencyRequestInput extends TypedRequest {
  via: 'command' | 'form';
}
