import type { KnownBlock } from '@slack/web-api';
import type { RequestView } from '../../domain/request-view';
import type { Page } from '../../domain/request-pages';
import type { SlackMessage } from './message';
import { buildApprovalMessage } from './approval-message';
import { mentionChannel, mentionUser } from './format';
import { briefStatus, requestHeadline } from './request-lines';

/** Requests per `/breakglass list` answer: one block each, within Slack's 50 blocks per message. */
export const LIST_LIMIT = 40;

/** `/breakglass list`: the active and pending requests the user can see, newest first. */
export function buildRequestList(page: Page, now: Date): SlackMessage {
  if (page.total === 0) {
    const text = 'No active or pending requests that you can see. `/breakglass audit <id>` shows the history of an ended one.';
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  }
  const shown = page.items.slice(0, LIST_LIMIT);
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*Active and pending requests you can see* (${page.total})` } },
    ...shown.map(
      (view): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: `${requestHeadline(view)} · ${mentionUser(view.requesterId)}\n${briefStatus(view, now)}` } }),
    ),
  ];
  const more = page.total - shown.length;
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${more > 0 ? `…and ${more} more, older ones. ` : ''}\`/breakglass status <id>\` for details.` }] });
  const text = `${page.total} active or pending request${page.total === 1 ? '' : 's'}: ${shown.map((view) => `${view.humanId} (${view.status.toLowerCase()})`).join(', ')}`;
  return { text, blocks };
}

/** `/breakglass status <id>`: the request as its message in the channel shows it, without the buttons (they act
 * in the channel), plus how to see its timeline. */
export function buildRequestStatus(view: RequestView): SlackMessage {
  const message = buildApprovalMessage(view);
  const blocks: KnownBlock[] = [
    ...message.blocks.filter((block) => block.type !== 'actions'),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `Posted in ${mentionChannel(view.channelId)}. \`/breakglass audit ${view.humanId}\` shows its timeline.` }] },
  ];
  return { text: message.text, blocks };
}
