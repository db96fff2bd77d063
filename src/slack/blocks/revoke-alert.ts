import type { KnownBlock } from '@slack/web-api';
import type { RequestView } from '../../domain/request-view';
import type { SlackMessage } from './message';
import { ActionIds } from './action-ids';
import { inlineCode, mentionUser, slackDate } from './format';

function attemptsText(attempts: number): string {
  return `${attempts} failed attempt${attempts === 1 ? '' : 's'}`;
}

/** The alert about a grant that fails to revoke, in the incident and security channels. Re-rendered on every
 * further failure and once more when the revocation finally holds (then without the button). */
export function buildRevokeAlert(view: RequestView, failingCount: number): SlackMessage {
  const what = `\`${view.roleId}\` on \`${view.resourceId}\` for ${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin)})`;
  if (view.status !== 'REVOKING') {
    const when = view.endedAt ? slackDate(view.endedAt) : 'now';
    const text = `:white_check_mark: *Resolved:* ${view.humanId} (${what}) was revoked ${when}, after ${attemptsText(view.revokeAttempts)}.`;
    return {
      text: `Resolved: ${view.humanId} was revoked after ${attemptsText(view.revokeAttempts)}`,
      blocks: [{ type: 'section', block_id: 'alert', text: { type: 'mrkdwn', text } }],
    };
  }
  const due = view.endReason === 'grant_failed' ? 'should have been rolled back' : `should have ended ${view.expiresAt ? slackDate(view.expiresAt) : ''}`;
  const lines = [
    `:rotating_light: *Revocation failing: ${view.humanId}* — ${what} ${due}.`,
    `*Attempts:* ${attemptsText(view.revokeAttempts)}${view.revokeFailingSince ? `, alerting since ${slackDate(view.revokeFailingSince)}` : ''}`,
    `*Last error:* ${inlineCode(view.lastRevokeError ?? 'unknown')}`,
    'The access may still be in place on the target. Breakglass keeps retrying with backoff; fix the target or remove the access by hand.',
  ];
  const blocks: KnownBlock[] = [
    { type: 'section', block_id: 'alert', text: { type: 'mrkdwn', text: lines.join('\n') } },
    {
      type: 'actions',
      block_id: 'retry',
      elements: [{ type: 'button', action_id: ActionIds.retryRevoke, text: { type: 'plain_text', text: 'Retry now' }, style: 'danger', value: view.id }],
    },
    { type: 'context', block_id: 'count', elements: [{ type: 'mrkdwn', text: `${failingCount} grant${failingCount === 1 ? ' is' : 's are'} failing to revoke right now.` }] },
  ];
  return { text: `Revocation failing: ${view.humanId} (${view.roleId} on ${view.resourceId}), ${attemptsText(view.revokeAttempts)}`, blocks };
}

/** Replaces an alert that lost the race to be the one alert for its grant in a channel. */
export function duplicateAlertNotice(): SlackMessage {
  const text = 'Duplicate alert (the live one is posted separately).';
  return { text, blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text }] }] };
}
