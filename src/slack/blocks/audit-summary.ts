import type { KnownBlock } from '@slack/web-api';
import { formatDuration } from '../../domain/duration';
import type { RequestView } from '../../domain/request-view';
import type { TimelineEvent } from '../../domain/timeline-event';
import type { SlackMessage } from './message';
import { inlineCode, mentionUser, plainText, slackDate } from './format';
import { reviewLine } from './emergency';
import { timelineLines } from './request-timeline';

/** Under Slack's 3000 characters per text object. */
const MAX_TIMELINE_TEXT = 2800;

/** How each ending is named (summaries, digests). */
export const endings = {
  expired: 'expired',
  revoked: 'revoked early',
  grant_failed: 'rolled back after a failed grant',
} as const;

/** The timeline in one block's worth of text; when it does not fit, the newest lines go and a pointer to the full
 * timeline takes their place. */
function timelineText(events: readonly TimelineEvent[], humanId: string): string {
  const lines = timelineLines(events);
  const more = `   … see \`/breakglass audit ${humanId}\` for the rest`;
  let text = '*Timeline:*';
  for (const [index, line] of lines.entries()) {
    const room = MAX_TIMELINE_TEXT - (index < lines.length - 1 ? more.length + 1 : 0);
    if (text.length + 1 + line.length > room) return `${text}\n${more}`;
    text += `\n${line}`;
  }
  return text;
}

/** Posted in the incident channel and the thread when access ends: who, what, why, approved by whom, how long, the
 * full timeline (requested, approvals, granted, reminders, extensions, revoked) and a link to the approval thread. */
export function buildAuditSummary(view: RequestView, extras: { events?: readonly TimelineEvent[]; threadLink?: string | null; now?: Date } = {}): SlackMessage {
  const ending = view.endReason ? endings[view.endReason] : 'ended';
  const endedAt = view.endedAt ?? new Date();
  const actualSeconds = view.grantedAt ? Math.max(0, Math.round((endedAt.getTime() - view.grantedAt.getTime()) / 1000)) : 0;
  const approvals = view.approvals.length ? view.approvals.map((a) => `${mentionUser(a.approverId)} at ${slackDate(a.at)}`).join('\n') : '—';
  const lines = [
    `*Requester:* ${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin)})`,
    `*Access:* \`${view.roleId}\` on \`${view.resourceId}\``,
    `*Ticket:* ${view.ticket ? inlineCode(view.ticket) : '—'}`,
    `*Requested:* ${slackDate(view.createdAt)} for ${formatDuration(view.durationSeconds)}`,
    `*Granted:* ${view.grantedAt ? slackDate(view.grantedAt) : 'never'}`,
    `*${ending[0].toUpperCase()}${ending.slice(1)}:* ${slackDate(endedAt)}${view.endReason === 'revoked' && view.endedBy ? ` by ${mentionUser(view.endedBy)}` : ''}`,
    `*Actual duration:* ${view.grantedAt ? formatDuration(Math.max(1, actualSeconds)) : '—'}`,
  ];
  if (view.failureReason) lines.push(`*Failure:* ${inlineCode(view.failureReason)}`);
  if (view.review) lines.push(`*Emergency access:* granted without approval · ${reviewLine(view.review, extras.now ?? new Date())}`);
  if (extras.threadLink) lines.push(`*Approval thread:* <${extras.threadLink}|${view.humanId} in the channel>`);
  const blocks: KnownBlock[] = [
    { type: 'header', block_id: 'title', text: { type: 'plain_text', text: `Audit summary ${view.humanId}: access ${ending}` } },
    { type: 'section', block_id: 'facts', text: { type: 'mrkdwn', text: lines.join('\n') } },
    { type: 'section', block_id: 'reason', text: plainText(view.reason, { label: 'Reason: ' }) },
    { type: 'section', block_id: 'approvals', text: { type: 'mrkdwn', text: view.emergency ? '*Approved by:*\nnobody — emergency access' : `*Approved by:*\n${approvals}` } },
  ];
  if (extras.events?.length) blocks.push({ type: 'section', block_id: 'timeline', text: { type: 'mrkdwn', text: timelineText(extras.events, view.humanId) } });
  const text = `Audit summary ${view.humanId}${view.emergency ? ' (EMERGENCY)' : ''}: ${view.roleId} on ${view.resourceId} for ${mentionUser(view.requesterId)} ${ending}`;
  return { text, blocks };
}
