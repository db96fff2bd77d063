import { formatDuration } from '../../domain/duration';
import type { RequestView } from '../../domain/request-view';
import { inlineCode, mentionUser, slackDate } from './format';

/** One-line descriptions of a request, shared by lists, status answers and App Home. */

/** `*BG-12* · `write` on `payments-db``. */
export function requestHeadline(view: RequestView): string {
  return `*${view.humanId}* · \`${view.roleId}\` on \`${view.resourceId}\``;
}

/** How long until the access ends, and when; "ending now" once the time has come. */
export function timeLeft(expiresAt: Date, now: Date): string {
  const seconds = Math.floor((expiresAt.getTime() - now.getTime()) / 1000);
  return seconds > 0 ? `${formatDuration(seconds)} left (until ${slackDate(expiresAt)})` : `ending now (expiry ${slackDate(expiresAt)})`;
}

/** Where the request stands, in a few words. */
export function briefStatus(view: RequestView, now: Date): string {
  switch (view.status) {
    case 'PENDING':
      return `:hourglass_flowing_sand: waiting for approval (${view.approvals.length} of ${view.requiredApprovals})`;
    case 'APPROVED':
      return ':gear: approved, access being granted…';
    case 'ACTIVE':
      return `:unlock: active, ${view.expiresAt ? timeLeft(view.expiresAt, now) : 'no expiry set'}`;
    case 'REVOKING':
      return view.revokeFailingSince || view.revokeAttempts > 0
        ? `:rotating_light: revocation failing (${view.revokeAttempts} attempt${view.revokeAttempts === 1 ? '' : 's'}): ${inlineCode(view.lastRevokeError ?? 'unknown error', 200)}`
        : ':lock: being revoked…';
    default:
      return outcome(view);
  }
}

/** How an ended request ended. */
export function outcome(view: RequestView): string {
  const at = (date: Date | null) => (date ? ` ${slackDate(date)}` : '');
  switch (view.status) {
    case 'EXPIRED':
      return `:lock: expired${at(view.endedAt)}`;
    case 'REVOKED':
      return `:lock: revoked early${view.endedBy ? ` by ${mentionUser(view.endedBy)}` : ''}${at(view.endedAt)}`;
    case 'DENIED':
      return view.decidedBy === view.requesterId
        ? `:no_entry_sign: withdrawn${at(view.decidedAt)}`
        : `:no_entry_sign: denied${view.decidedBy ? ` by ${mentionUser(view.decidedBy)}` : ''}${at(view.decidedAt)}`;
    case 'FAILED':
      return `:x: failed: ${inlineCode(view.failureReason ?? 'unknown error', 200)}`;
    case 'TIMED_OUT':
      return ':hourglass: expired without a decision';
    default:
      return view.status.toLowerCase();
  }
}
