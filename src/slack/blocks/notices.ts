import { formatDuration } from '../../domain/duration';
import type { RequestView } from '../../domain/request-view';
import { remainingApprovals } from '../../domain/approval-rules';
import type { Credentials } from '../../domain/credentials';
import type { SlackMessage } from './message';
import { activeAccessButtons } from './extension';
import { inlineCode, mentionUser, slackDate } from './format';

/** Short text messages: thread replies, DMs and ephemeral answers. Each has plain fallback text. */
function textMessage(text: string): SlackMessage {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function approvalRecordedNotice(view: RequestView, approverId: string): SlackMessage {
  const remaining = remainingApprovals(view.approvals.length, view.requiredApprovals);
  const progress = remaining > 0 ? `${remaining} more needed` : 'quorum reached, granting access';
  return textMessage(`:white_check_mark: ${mentionUser(approverId)} approved (${view.approvals.length} of ${view.requiredApprovals}; ${progress}).`);
}

export function deniedNotice(view: RequestView): SlackMessage {
  return view.decidedBy === view.requesterId
    ? textMessage(`:no_entry_sign: ${mentionUser(view.requesterId)} withdrew ${view.humanId}.`)
    : textMessage(`:no_entry_sign: ${mentionUser(view.decidedBy ?? 'unknown')} denied ${view.humanId}. ${mentionUser(view.requesterId)}, ask again with more context if needed.`);
}

export function grantedNotice(view: RequestView): SlackMessage {
  return textMessage(
    `:unlock: Granted ${inlineCode(view.roleId)} on \`${view.resourceId}\` to ${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin)}) until ${view.expiresAt ? slackDate(view.expiresAt) : '?'} (${formatDuration(view.durationSeconds)}). Verified on the target.`,
  );
}

export function grantedDirectMessage(view: RequestView): SlackMessage {
  const text = `:unlock: Your break-glass request ${view.humanId} is active: ${inlineCode(view.roleId)} on \`${view.resourceId}\` as ${inlineCode(view.requesterLogin)} until ${view.expiresAt ? slackDate(view.expiresAt) : '?'}. It is revoked automatically then. *Extend* asks for more time; *I'm done* ends it now.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, activeAccessButtons(view, { canExtend: true })] };
}

export function grantFailedNotice(view: RequestView): SlackMessage {
  return textMessage(
    `:x: Granting ${view.humanId} failed: ${inlineCode(view.failureReason ?? 'unknown error')}. Anything partly granted is being rolled back; nothing stays granted.`,
  );
}

export function revokeRequestedNotice(view: RequestView, actorId: string): SlackMessage {
  return textMessage(`:lock: ${mentionUser(actorId)} asked to revoke ${view.humanId} now; revoking…`);
}

export function timedOutNotice(view: RequestView, requestTtlSeconds: number): SlackMessage {
  return textMessage(
    `:hourglass: ${view.humanId} expired: nobody decided within ${formatDuration(requestTtlSeconds)}. Nothing was granted. ${mentionUser(view.requesterId)}, ask again if you still need access.`,
  );
}

/** The one place a temporary password is ever written: a direct message to the requester. */
export function credentialsDirectMessage(view: RequestView, credentials: Credentials): SlackMessage {
  const lines = [
    `:key: Temporary login for ${view.humanId} (${inlineCode(view.roleId)} on \`${view.resourceId}\`), valid until ${view.expiresAt ? slackDate(view.expiresAt) : '?'}:`,
    `*User:* ${inlineCode(credentials.username)}`,
    `*Password:* \`${credentials.password}\``,
  ];
  if (credentials.connectionHint) lines.push(`*Connect:* ${inlineCode(credentials.connectionHint)}`);
  lines.push('Only you can see this. The login is dropped and its sessions are ended when the access expires or is revoked.');
  return { text: `Temporary login for ${view.humanId} (the details are in this message)`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }] };
}

/** The drift check found the access of an active request missing on the target. */
export function accessMissingNotice(view: RequestView): SlackMessage {
  return textMessage(
    `:warning: The drift check found ${inlineCode(view.roleId)} on \`${view.resourceId}\` missing for ${view.humanId} (${inlineCode(view.requesterLogin)}) although it is active: someone took it away on the target. Nothing was changed; request again if it is still needed.`,
  );
}

/** The drift check found access on the target although the request has ended (granted again behind the bot's
 * back, or a revocation that did not hold), and took it away again — or could not. */
export function accessReappearedNotice(view: RequestView, outcome: { revoked: boolean; error?: string }): SlackMessage {
  const what = `${inlineCode(view.roleId)} on \`${view.resourceId}\` for ${inlineCode(view.requesterLogin)}`;
  return outcome.revoked
    ? textMessage(
        `:rotating_light: The drift check found ${what} on the target again although ${view.humanId} has ended, and revoked it. Someone granted it outside Breakglass; find out who.`,
      )
    : textMessage(
        `:rotating_light: The drift check found ${what} on the target again although ${view.humanId} has ended, and could NOT revoke it: ${inlineCode(outcome.error ?? 'unknown error')}. Remove it by hand; the check tries again on its next run.`,
      );
}

/** Started with BREAKGLASS_PROVIDER_CHANGE=revoke: the resource's provider changed since the grant. */
export function providerChangedRevokingNotice(view: RequestView): SlackMessage {
  return textMessage(
    `:lock: The provider of ${inlineCode(view.resourceId)} changed since ${view.humanId} was granted, and Breakglass was started to revoke such grants: revoking ${inlineCode(view.roleId)} for ${inlineCode(view.requesterLogin)} now, with the new configuration.`,
  );
}

/** Started with BREAKGLASS_PROVIDER_CHANGE=revoke, but the grant is not on the target the resource's provider names now. */
export function providerNotFoundNotice(view: RequestView, made: string): SlackMessage {
  return textMessage(
    `:rotating_light: The provider of ${inlineCode(view.resourceId)} changed since ${view.humanId} was granted, and Breakglass was started to revoke such grants, but ${inlineCode(view.roleId)} for ${inlineCode(view.requesterLogin)} is not in place on the target the policy names now (or it did not answer), so it may still be where it was granted: ${inlineCode(made)}. Remove it there by hand; this request still ends at its expiry.`,
  );
}

/** Start-up found a live grant whose resource is no longer in the policy. */
export function providerVanishedNotice(view: RequestView): SlackMessage {
  return textMessage(
    `:rotating_light: ${inlineCode(view.resourceId)} is no longer in the policy, so Breakglass cannot revoke ${inlineCode(view.roleId)} for ${inlineCode(view.requesterLogin)} (${view.humanId}). Remove it on the target by hand, or put the resource back in the policy so its revocation can run.`,
  );
}
