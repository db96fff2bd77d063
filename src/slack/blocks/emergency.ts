import type { Button, KnownBlock, View } from '@slack/web-api';
import { formatDuration } from '../../domain/duration';
import { MAX_FLAG_REASON_LENGTH, reviewState, type EmergencyConfirmation, type EmergencyRequestInput, type ReviewView } from '../../domain/emergency-rules';

export type { EmergencyConfirmation, EmergencyRequestInput };
import type { RequestView } from '../../domain/request-view';
import { ActionIds, EmergencyConfirmModal, FlagModal } from './action-ids';
import { inlineCode, mentionChannel, mentionPrincipal, mentionUser, plainText, slackDate } from './format';
import type { SlackMessage } from './message';
import { requestHeadline } from './request-lines';

/** Emergency access (break glass): the confirmation, the loud alerts with the review buttons, the reviews' outcome
 * and reminders, the requester's "Break glass now" offer, and the review state shown in summaries and timelines. */

const plain = (text: string) => ({ type: 'plain_text' as const, text: text.slice(0, 150) });
const mrkdwn = (text: string) => ({ type: 'mrkdwn' as const, text });

/** Reads the confirmation's private_metadata back; null when it is not one of ours. */
export function readEmergencyMetadata(metadata: string): EmergencyRequestInput | null {
  try {
    const value = JSON.parse(metadata) as Record<string, unknown>;
    const text = (key: string) => (typeof value[key] === 'string' ? (value[key] as string) : null);
    const via = value.via === 'command' || value.via === 'form' ? value.via : null;
    const [channelId, resourceId, roleId, durationText, reason] = ['channelId', 'resourceId', 'roleId', 'durationText', 'reason'].map(text);
    if (!via || !channelId || !resourceId || !roleId || !durationText || reason === null) return null;
    return { via, channelId, resourceId, roleId, durationText, ticket: text('ticket'), reason };
  } catch {
    return null;
  }
}

/** "This is what happens" before anything is recorded; submitting invokes emergency access. */
export function buildEmergencyConfirmModal(confirmation: EmergencyConfirmation): View {
  const { request } = confirmation;
  const places = [`the request channel ${mentionChannel(request.channelId)}`, ...confirmation.alertChannels.map(mentionChannel)].join(', ');
  const lines = [
    `*You are about to break the glass:* \`${request.roleId}\` on \`${request.resourceId}\` for ${formatDuration(confirmation.durationSeconds)}, granted *at once, without approval*.`,
    `• It is loud: an alert goes to ${places}, and a DM to each reviewer (${confirmation.reviewers.map(mentionPrincipal).join(', ')}).`,
    `• The reviewers must review it within ${formatDuration(confirmation.reviewWithinSeconds)}: mark it justified or flag it. Until they do, they are reminded and the security channel is told, daily.`,
    '• The access expires on its own; everything is in the audit trail.',
  ];
  return {
    type: 'modal',
    callback_id: EmergencyConfirmModal.callbackId,
    private_metadata: JSON.stringify(request),
    title: plain('Emergency access'),
    submit: plain('Break glass'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: mrkdwn(lines.join('\n')) },
      { type: 'section', text: plainText(request.reason, { label: 'Reason: ' }) },
      { type: 'context', elements: [mrkdwn(`Ticket: ${request.ticket ? inlineCode(request.ticket, 100) : '—'}`)] },
    ],
  };
}

/** Reviewed: justified / Flag, for reviewers (the click is checked: never the requester or their login). */
export function reviewButtons(view: RequestView): KnownBlock {
  return {
    type: 'actions',
    block_id: 'emergency_review',
    elements: [
      { type: 'button', action_id: ActionIds.emergencyJustified, text: plain('Reviewed: justified'), style: 'primary', value: view.id },
      { type: 'button', action_id: ActionIds.emergencyFlag, text: plain('Flag'), style: 'danger', value: view.id },
    ],
  };
}

/** One line on where the review stands. */
export function reviewLine(review: ReviewView, now: Date): string {
  switch (reviewState(review, now)) {
    case 'justified':
      return `:white_check_mark: Reviewed as justified by ${mentionUser(review.reviewedBy ?? '?')}${review.reviewedAt ? ` ${slackDate(review.reviewedAt)}` : ''}`;
    case 'flagged':
      return `:triangular_flag_on_post: Flagged by ${mentionUser(review.reviewedBy ?? '?')}${review.reviewedAt ? ` ${slackDate(review.reviewedAt)}` : ''}: ${inlineCode(review.flagReason ?? '', 300)}`;
    case 'overdue':
      return `:warning: Review OVERDUE (was due ${slackDate(review.dueAt)}${review.overdueNotices > 0 ? `; ${review.overdueNotices} notice${review.overdueNotices === 1 ? '' : 's'} sent` : ''})`;
    case 'pending':
      return `:hourglass_flowing_sand: Review due ${slackDate(review.dueAt)}`;
  }
}

const viaWords = { command: '`/breakglass emergency`', form: 'the request form', escalation: '*Break glass now* on a waiting request' } as const;

function alertFacts(view: RequestView): string {
  const review = view.review;
  return [
    `*Requester:* ${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin, 100)}) · *Access:* \`${view.roleId}\` on \`${view.resourceId}\``,
    `*Duration:* ${formatDuration(view.durationSeconds)}${view.expiresAt ? `, until ${slackDate(view.expiresAt)}` : ''} · *Ticket:* ${view.ticket ? inlineCode(view.ticket, 100) : '—'}`,
    review ? `*Invoked via* ${viaWords[review.via]} · *Reviewers:* ${review.reviewers.map(mentionPrincipal).join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

function alertMessage(view: RequestView, title: string, lead: string, now: Date): SlackMessage {
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(title) },
    { type: 'section', text: mrkdwn(`${lead}\n${alertFacts(view)}`) },
    { type: 'section', text: plainText(view.reason, { label: 'Reason: ' }) },
  ];
  if (view.review) blocks.push({ type: 'context', elements: [mrkdwn(reviewLine(view.review, now))] });
  if (view.review && !view.review.verdict) blocks.push(reviewButtons(view));
  return { text: `${title}: ${view.humanId} ${view.roleId} on ${view.resourceId} for ${mentionUser(view.requesterId)}`, blocks };
}

/** The loud alert: the request's thread, the security and notify channels, and each reviewer's DM. */
export function buildEmergencyAlert(view: RequestView, now: Date): SlackMessage {
  return alertMessage(
    view,
    `🚨 EMERGENCY ACCESS ${view.humanId} — no approval`,
    `${mentionUser(view.requesterId)} broke the glass: ${requestHeadline(view)} is granted *without approval*. Reviewers: is it justified?`,
    now,
  );
}

/** The review's reminder to a reviewer (DM), or its overdue notice in the security channel. */
export function buildReviewOverdue(view: RequestView, notice: number, audience: 'reviewer' | 'channel', now: Date): SlackMessage {
  const due = view.review ? slackDate(view.review.dueAt) : '?';
  const lead =
    audience === 'reviewer'
      ? `:alarm_clock: Reminder${notice > 1 ? ` ${notice}` : ''}: the emergency access ${view.humanId} has not been reviewed, and was due ${due}. Please review it now.`
      : `:warning: Emergency access ${view.humanId} is *unreviewed past its deadline* (${due}; notice ${notice}). The reviewers were reminded.`;
  return alertMessage(view, `Review overdue: emergency access ${view.humanId}`, lead, now);
}

/** A verdict: in the thread, and in the security channel (a flag as an alert naming who and why). */
export function buildReviewOutcome(view: RequestView, now: Date): SlackMessage {
  const review = view.review;
  if (review?.verdict === 'flagged') {
    const text = `:triangular_flag_on_post: *Emergency access ${view.humanId} was FLAGGED* by ${mentionUser(review.reviewedBy ?? '?')}: ${requestHeadline(view)} for ${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin, 100)}).`;
    return {
      text: `Emergency access ${view.humanId} was flagged by ${mentionUser(review.reviewedBy ?? '?')}`,
      blocks: [
        { type: 'section', text: mrkdwn(text) },
        { type: 'section', text: plainText(review.flagReason ?? '', { label: 'Why: ' }) },
        { type: 'context', elements: [mrkdwn(`Reason given when invoked: ${inlineCode(view.reason, 300)}`)] },
      ],
    };
  }
  const line = review ? reviewLine(review, now) : 'No review recorded.';
  return { text: `Emergency access ${view.humanId}: ${line}`, blocks: [{ type: 'section', text: mrkdwn(`*Emergency access ${view.humanId}:* ${line}`) }] };
}

/** For the requester of a waiting request whose role allows emergency access, once `emergency.after` has passed. */
export function breakGlassButton(view: RequestView): Button {
  return {
    type: 'button',
    action_id: ActionIds.breakGlassNow,
    text: plain('Break glass now'),
    style: 'danger',
    value: view.id,
    confirm: {
      title: plain(`Break glass on ${view.humanId}?`),
      text: mrkdwn(
        `You get \`${view.roleId}\` on \`${view.resourceId}\` at once, without approval (at most the role's emergency maximum). The security channel and the reviewers are alerted, and the reviewers must review it afterwards.`,
      ),
      confirm: plain('Break glass'),
      deny: plain('Cancel'),
      style: 'danger',
    },
  };
}

/** The DM telling the requester that a waiting request may now be broken open. */
export function buildBreakGlassOffer(view: RequestView): SlackMessage {
  const text = `:hourglass: ${requestHeadline(view)} is still waiting for approval. If it cannot wait, you may break the glass: you get the access at once, without approval, and the reviewers check it afterwards.`;
  return {
    text: `${view.humanId} is still waiting; you may break the glass`,
    blocks: [
      { type: 'section', text: mrkdwn(text) },
      { type: 'actions', elements: [breakGlassButton(view)] },
    ],
  };
}

/** Why the reviewer flags it (required, short). */
export function buildFlagModal(view: RequestView): View {
  const { blockId, actionId } = FlagModal.blocks.reason;
  return {
    type: 'modal',
    callback_id: FlagModal.callbackId,
    private_metadata: view.id,
    title: plain(`Flag ${view.humanId}`),
    submit: plain('Flag'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: mrkdwn(`${requestHeadline(view)} for ${mentionUser(view.requesterId)}. Your flag and reason go to the security channel.`) },
      {
        type: 'input',
        block_id: blockId,
        label: plain('Why do you flag it?'),
        element: { type: 'plain_text_input', action_id: actionId, multiline: true, max_length: MAX_FLAG_REASON_LENGTH },
      },
    ],
  };
}
