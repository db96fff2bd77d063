import type { Button, HomeView, KnownBlock } from '@slack/web-api';
import { formatDuration } from '../../domain/duration';
import type { RequestView } from '../../domain/request-view';
import type { HomeContent, HomeLimits, Page } from '../../domain/request-pages';
import { ActionIds } from './action-ids';
import { inlineCode, mentionUser, plainText, slackDate } from './format';
import { breakGlassButton, reviewButtons, reviewLine } from './emergency';
import { briefStatus, outcome, requestHeadline } from './request-lines';

/** Slack refuses a Home tab of more than 100 blocks. */
export const HOME_BLOCK_LIMIT = 100;

/** Items shown per section. At most 2 blocks per item, plus headers, dividers, "and N more" lines, the notice and
 * the footer, this stays under HOME_BLOCK_LIMIT (the block tests check the worst case). */
export const HOME_LIMITS: HomeLimits = { myAccess: 10, myPending: 5, toApprove: 10, recent: 10, allActive: 20, toReview: 5 };

const plain = (text: string) => ({ type: 'plain_text' as const, text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn' as const, text });

function header(text: string): KnownBlock {
  return { type: 'header', text: plain(text) };
}

function note(text: string): KnownBlock {
  return { type: 'context', elements: [mrkdwn(text)] };
}

function moreLine(page: Page, shown: number): KnownBlock[] {
  const more = page.total - shown;
  return more > 0 ? [note(`…and ${more} more — use \`/breakglass list\` to see them all.`)] : [];
}

function extendButton(view: RequestView): Button {
  return { type: 'button', action_id: ActionIds.extendAccess, text: plain('Extend'), style: 'primary', value: view.id };
}

function finishButton(view: RequestView): Button {
  return {
    type: 'button',
    action_id: ActionIds.finishAccess,
    text: plain("I'm done"),
    value: view.id,
    confirm: {
      title: plain(`End ${view.humanId} now?`),
      text: mrkdwn(`You lose \`${view.roleId}\` on \`${view.resourceId}\` right away.`),
      confirm: plain('End it'),
      deny: plain('Cancel'),
    },
  };
}

function approvalButtons(view: RequestView): KnownBlock {
  return {
    type: 'actions',
    elements: [
      { type: 'button', action_id: ActionIds.approve, text: plain('Approve'), style: 'primary', value: view.id },
      {
        type: 'button',
        action_id: ActionIds.deny,
        text: plain('Deny'),
        style: 'danger',
        value: view.id,
        confirm: {
          title: plain(`Deny ${view.humanId}?`),
          text: mrkdwn('One denial ends the request; the requester has to ask again.'),
          confirm: plain('Deny'),
          deny: plain('Cancel'),
          style: 'danger',
        },
      },
    ],
  };
}

function myAccessBlocks(view: RequestView, now: Date): KnownBlock[] {
  const section: KnownBlock = { type: 'section', text: mrkdwn(`${requestHeadline(view)} as ${inlineCode(view.requesterLogin, 100)}\n${briefStatus(view, now)}`) };
  if (view.status !== 'ACTIVE') return [section];
  return [section, { type: 'actions', elements: [extendButton(view), finishButton(view)] }];
}

function toApproveBlocks(view: RequestView): KnownBlock[] {
  const lines = [
    `${requestHeadline(view)} for ${formatDuration(view.durationSeconds)} · requested by ${mentionUser(view.requesterId)} ${slackDate(view.createdAt)}`,
    `*Ticket:* ${view.ticket ? inlineCode(view.ticket, 100) : '—'} · *Approvals:* ${view.approvals.length} of ${view.requiredApprovals}`,
  ];
  // The reason is the requester's own words: a plain_text field of its own, never mrkdwn.
  return [{ type: 'section', text: mrkdwn(lines.join('\n')), fields: [plainText(view.reason, { label: 'Reason: ', maxLength: 600 })] }, approvalButtons(view)];
}

/** A waiting request of the user's own; once its role's emergency.after has passed, with "Break glass now". */
function myPendingBlocks(view: RequestView, now: Date): KnownBlock[] {
  const section: KnownBlock = { type: 'section', text: mrkdwn(`${requestHeadline(view)} · ${briefStatus(view, now)}`) };
  if (!view.breakGlassAt || view.breakGlassAt.getTime() > now.getTime()) return [section];
  return [{ ...section, accessory: breakGlassButton(view) }];
}

/** An unreviewed emergency grant, for a reviewer or an admin. */
function toReviewBlocks(view: RequestView, now: Date): KnownBlock[] {
  const line = view.review ? reviewLine(view.review, now) : '';
  return [
    {
      type: 'section',
      text: mrkdwn(`:rotating_light: ${requestHeadline(view)} · ${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin, 100)})
${line}`),
    },
    reviewButtons(view),
  ];
}

function adminBlocks(view: RequestView, now: Date): KnownBlock[] {
  return [{ type: 'section', text: mrkdwn(`${requestHeadline(view)} · ${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin, 100)})\n${briefStatus(view, now)}`) }];
}

function section(title: string, page: Page, limit: number, render: (view: RequestView) => KnownBlock[], empty: string): KnownBlock[] {
  const shown = page.items.slice(0, limit);
  const body = shown.length ? shown.flatMap(render) : [note(empty)];
  return [header(title), ...body, ...moreLine(page, shown.length)];
}

/** The Home tab: the user's own access (Extend / I'm done), what waits for their approval (Approve / Deny), their
 * recent requests, and for admins everything active. `notice` answers the user's last click from the Home tab. */
export function buildAppHome(content: HomeContent, { now, notice }: { now: Date; notice?: string | null }): HomeView {
  const blocks: KnownBlock[] = [];
  if (notice) blocks.push({ type: 'section', text: mrkdwn(notice) }, { type: 'divider' });
  blocks.push(...section('Your active access', content.myAccess, HOME_LIMITS.myAccess, (view) => myAccessBlocks(view, now), 'Nothing active. Ask for access with `/breakglass`.'));
  if (content.myPending.total > 0) {
    blocks.push(...section('Your requests waiting for approval', content.myPending, HOME_LIMITS.myPending, (view) => myPendingBlocks(view, now), ''));
  }
  if (content.toReview.total > 0) {
    blocks.push({ type: 'divider' });
    blocks.push(...section('Emergency access to review', content.toReview, HOME_LIMITS.toReview, (view) => toReviewBlocks(view, now), ''));
  }
  blocks.push({ type: 'divider' });
  blocks.push(...section('Waiting for your approval', content.toApprove, HOME_LIMITS.toApprove, toApproveBlocks, 'Nothing is waiting for your approval.'));
  blocks.push({ type: 'divider' }, header('Your recent requests'));
  const recent = content.recent.slice(0, HOME_LIMITS.recent);
  blocks.push(
    recent.length ? { type: 'section', text: mrkdwn(recent.map((view) => `${requestHeadline(view)} · ${outcome(view)}`).join('\n')) } : note('No finished requests yet.'),
  );
  if (content.allActive) {
    blocks.push({ type: 'divider' });
    blocks.push(...section('All active access', content.allActive, HOME_LIMITS.allActive, (view) => adminBlocks(view, now), 'No access is active right now.'));
  }
  blocks.push(note(`Updated ${slackDate(now)} · \`/breakglass help\` for commands`));
  return { type: 'home', blocks };
}
