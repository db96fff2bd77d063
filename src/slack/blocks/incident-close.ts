import type { KnownBlock } from '@slack/web-api';
import type { IncidentCloseVia, IncidentClosePlan, IncidentItem } from '../../domain/incident-close';
import type { RequestView } from '../../domain/request-view';
import { ActionIds } from './action-ids';
import { inlineCode, mentionChannel, mentionUser, slackDate } from './format';
import type { SlackMessage } from './message';

/** Most requests listed by name in one answer (Slack's text object limit); the rest are counted. */
const MAX_LISTED = 25;

/** The thread (or, the channel archived, the requester's DM) hears that the incident closed. */
export function incidentClosedNotice(view: RequestView, { via, actorId, pending }: { via: IncidentCloseVia; actorId: string | null; pending: boolean }): SlackMessage {
  const how =
    via === 'archive'
      ? `${mentionChannel(view.channelId)} was archived${actorId ? ` by ${mentionUser(actorId)}` : ''}`
      : `${actorId ? mentionUser(actorId) : 'Someone'} closed the incident in ${mentionChannel(view.channelId)}`;
  const what = pending
    ? `${view.humanId} is closed without a decision; nothing was granted. ${mentionUser(view.requesterId)}, ask again in the current incident's channel if you still need access.`
    : `the access of ${view.humanId} (${inlineCode(view.roleId)} on \`${view.resourceId}\`) ends now; the audit summary follows.`;
  const text = `:checkered_flag: Incident closed: ${how}, so ${what}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

function itemLine(item: IncidentItem): string {
  const state =
    item.status === 'PENDING' ? 'waiting for approval' : item.status === 'APPROVED' ? 'being granted' : `active${item.expiresAt ? ` until ${slackDate(item.expiresAt)}` : ''}`;
  return `• ${item.humanId}: ${inlineCode(item.roleId)} on \`${item.resourceId}\` for ${mentionUser(item.requesterId)}, ${state}`;
}

function section(title: string, items: readonly IncidentItem[]): string[] {
  if (items.length === 0) return [];
  const lines = items.slice(0, MAX_LISTED).map(itemLine);
  if (items.length > MAX_LISTED) lines.push(`…and ${items.length - MAX_LISTED} more`);
  return [`*${title}*`, ...lines];
}

/** `/breakglass incident close`: what it will end, and a Confirm button (value: the channel and the time of the list,
 * so the confirmation ends only what was listed). */
export function buildIncidentClosePreview(plan: IncidentClosePlan, listedAt: Date): SlackMessage {
  const endable = plan.end.length + plan.cancel.length;
  const lines = [
    `:checkered_flag: *Close the incident in ${mentionChannel(plan.channelId)}?* Access requested here ends now, as revoked early ("incident closed"), and can no longer be extended.`,
    ...section('Access that ends now', plan.end),
    ...section('Requests waiting for approval, closed without a decision', plan.cancel),
    ...section('Not yours to end (only its requester, an approver of its role or an admin may); it stays, but cannot be extended', plan.notAllowed),
  ];
  const text = lines.join('\n');
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } }];
  if (endable > 0) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ActionIds.confirmIncidentClose,
          style: 'danger',
          text: { type: 'plain_text', text: `Confirm: end ${endable}` },
          value: JSON.stringify({ channelId: plan.channelId, listedAt: listedAt.toISOString() }),
        },
      ],
    });
  } else {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Nothing here is yours to end, so there is nothing to confirm.' }] });
  }
  return { text, blocks };
}

/** The answer to Confirm: what ended, and what had moved on meanwhile. */
export function incidentClosedAnswer(result: { plan: IncidentClosePlan; movedOn: readonly IncidentItem[] }): string {
  const { plan, movedOn } = result;
  const ended = [...plan.end, ...plan.cancel];
  const lines = [
    `:checkered_flag: Incident closed in ${mentionChannel(plan.channelId)}: ${ended.length === 1 ? '1 request ends' : `${ended.length} requests end`}${ended.length ? ` (${ended.map((item) => item.humanId).join(', ')})` : ''}; the audit summaries follow.`,
  ];
  if (movedOn.length) lines.push(`Already ended or changed meanwhile: ${movedOn.map((item) => item.humanId).join(', ')}.`);
  if (plan.notAllowed.length) lines.push(`Not yours to end, left running (no extensions): ${plan.notAllowed.map((item) => item.humanId).join(', ')}.`);
  return lines.join('\n');
}
