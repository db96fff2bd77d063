import type { KnownBlock } from '@slack/web-api';
import { formatDuration } from '../../domain/duration';
import type { RequestView } from '../../domain/request-view';
import { remainingApprovals } from '../../domain/approval-rules';
import { isOnCallPrincipal, onCallLabel, type OnCallNow } from '../../domain/on-call';
import type { SlackMessage } from './message';
import { ActionIds } from './action-ids';
import { reviewButtons, reviewLine } from './emergency';
import { escapeEntities, inlineCode, mentionPrincipal, mentionUser, plainText, slackDate } from './format';

const statusLine: Record<RequestView['status'], (view: RequestView) => string> = {
  PENDING: (view) => {
    const remaining = remainingApprovals(view.approvals.length, view.requiredApprovals);
    return `:hourglass_flowing_sand: *Waiting for ${remaining} more approval${remaining === 1 ? '' : 's'}* (${view.approvals.length} of ${view.requiredApprovals})`;
  },
  APPROVED: (view) => (view.emergency ? ':rotating_light: *Emergency access — granting now, without approval…*' : ':gear: *Approved — granting access now…*'),
  ACTIVE: (view) => `:unlock: *Active* until ${view.expiresAt ? slackDate(view.expiresAt) : '?'}`,
  REVOKING: (view) =>
    view.revokeAttempts > 0
      ? `:rotating_light: *Revocation failing* (${view.revokeAttempts} attempt${view.revokeAttempts === 1 ? '' : 's'}): ${inlineCode(view.lastRevokeError ?? 'unknown error')}. Retrying until it holds.`
      : ':lock: *Revoking access…*',
  EXPIRED: (view) => `:lock: *Expired* — access revoked ${view.endedAt ? slackDate(view.endedAt) : ''}`,
  REVOKED: (view) => `:lock: *Revoked early*${view.endedBy ? ` by ${mentionUser(view.endedBy)}` : ''} ${view.endedAt ? slackDate(view.endedAt) : ''}`,
  DENIED: (view) =>
    view.decidedBy === view.requesterId
      ? `:no_entry_sign: *Withdrawn* by ${mentionUser(view.requesterId)}`
      : `:no_entry_sign: *Denied*${view.decidedBy ? ` by ${mentionUser(view.decidedBy)}` : ''}`,
  FAILED: (view) => `:x: *Failed* — ${inlineCode(view.failureReason ?? 'unknown error')}. Nothing is granted.`,
  TIMED_OUT: () => ':hourglass: *Expired without a decision* — nothing was granted; ask again if access is still needed.',
};

function requestFields(view: RequestView): string[] {
  return [
    `*Requester*\n${mentionUser(view.requesterId)} (${inlineCode(view.requesterLogin, 200)})`,
    `*Access*\n\`${view.resourceId}\` · \`${view.roleId}\``,
    `*Duration*\n${formatDuration(view.durationSeconds)}`,
    `*Ticket*\n${view.ticket ? inlineCode(view.ticket, 600) : '—'}`,
  ];
}

function buttonsFor(view: RequestView): KnownBlock | null {
  if (view.status === 'PENDING') {
    return {
      type: 'actions',
      block_id: 'decision',
      elements: [
        { type: 'button', action_id: ActionIds.approve, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: view.id },
        {
          type: 'button',
          action_id: ActionIds.deny,
          text: { type: 'plain_text', text: 'Deny' },
          style: 'danger',
          value: view.id,
          confirm: {
            title: { type: 'plain_text', text: `Deny ${view.humanId}?` },
            text: { type: 'mrkdwn', text: 'One denial ends the request; the requester has to ask again.' },
            confirm: { type: 'plain_text', text: 'Deny' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
      ],
    };
  }
  if (view.status === 'ACTIVE') {
    return {
      type: 'actions',
      block_id: 'active',
      elements: [
        {
          type: 'button',
          action_id: ActionIds.revokeNow,
          text: { type: 'plain_text', text: 'Revoke now' },
          style: 'danger',
          value: view.id,
          confirm: {
            title: { type: 'plain_text', text: `Revoke ${view.humanId} now?` },
            text: { type: 'mrkdwn', text: `${mentionUser(view.requesterId)} loses \`${view.roleId}\` on \`${view.resourceId}\` immediately.` },
            confirm: { type: 'plain_text', text: 'Revoke' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
      ],
    };
  }
  return null;
}

/** An approver principal as the message shows it; on-call schedules with whoever is on call now, when known. */
function describeApprover(principal: string, onCall: readonly OnCallNow[]): string {
  if (!isOnCallPrincipal(principal)) return mentionPrincipal(principal);
  const answer = onCall.find((candidate) => candidate.principal === principal);
  const label = `whoever is on call for ${escapeEntities(onCallLabel(principal))}`;
  if (!answer || 'unreachable' in answer) return label;
  return answer.userIds.length > 0 ? `${label} (now ${answer.userIds.map(mentionUser).join(', ')})` : `${label} (nobody right now)`;
}

/** The request message in the incident channel; re-rendered on every state change. `onCall`: who is on call now
 * for the role's on-call approvers (resolved by the delivery while the request waits), so they are mentioned and
 * notified; a schedule PagerDuty did not answer for is said to be unreachable. */
export function buildApprovalMessage(view: RequestView, onCall: readonly OnCallNow[] = [], now = new Date()): SlackMessage {
  const unreachable = onCall.filter((answer) => 'unreachable' in answer).map((answer) => answer.principal);
  const onCallPeople = [...new Set(onCall.flatMap((answer) => ('userIds' in answer ? answer.userIds : [])))];
  const approvals = view.approvals.length ? view.approvals.map((a) => `:white_check_mark: ${mentionUser(a.approverId)} ${slackDate(a.at)}`).join('\n') : 'No approvals yet.';
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      block_id: 'summary',
      text: {
        type: 'mrkdwn',
        text: `${view.emergency ? ':rotating_light: *EMERGENCY ACCESS (no approval)* · ' : ''}*${view.humanId}* · ${mentionUser(view.requesterId)} requests break-glass access to *${view.resourceId}*${view.resourceDescription ? ` (${escapeEntities(view.resourceDescription)})` : ''}`,
      },
    },
    { type: 'section', block_id: 'fields', fields: requestFields(view).map((text) => ({ type: 'mrkdwn', text })) },
    { type: 'section', block_id: 'reason', text: plainText(view.reason, { label: 'Reason: ' }) },
    {
      type: 'context',
      block_id: 'approvers',
      elements: [
        {
          type: 'mrkdwn',
          text: view.review
            ? `Emergency access: granted without approval; reviewed afterwards by ${view.review.reviewers.map(mentionPrincipal).join(', ')}`
            : `Needs ${view.requiredApprovals} distinct approval${view.requiredApprovals === 1 ? '' : 's'} from ${view.approverPrincipals.map((principal) => describeApprover(principal, onCall)).join(', ')}`,
        },
      ],
    },
    ...(unreachable.length > 0 && view.status === 'PENDING'
      ? [
          {
            type: 'context' as const,
            block_id: 'on_call_unreachable',
            elements: [
              {
                type: 'mrkdwn' as const,
                text: `:warning: ${escapeEntities(unreachable.map(onCallLabel).join(', '))} could not be reached, so who is on call is unknown; the role's other approvers can still approve.`,
              },
            ],
          },
        ]
      : []),
    { type: 'section', block_id: 'approvals', text: { type: 'mrkdwn', text: approvals } },
    { type: 'section', block_id: 'status', text: { type: 'mrkdwn', text: statusLine[view.status](view) } },
  ];
  if (view.review) blocks.push({ type: 'context', block_id: 'review', elements: [{ type: 'mrkdwn', text: reviewLine(view.review, now) }] });
  const buttons = buttonsFor(view);
  if (buttons) blocks.push(buttons);
  const onCallNote = view.status === 'PENDING' && onCallPeople.length > 0 ? ` (on call: ${onCallPeople.map(mentionUser).join(', ')})` : '';
  if (view.review && !view.review.verdict) blocks.push(reviewButtons(view));
  const text = `${view.humanId}: ${mentionUser(view.requesterId)} requests ${view.roleId} on ${view.resourceId} for ${formatDuration(view.durationSeconds)} — ${view.emergency ? 'EMERGENCY, ' : ''}${view.status.toLowerCase()}${onCallNote}`;
  return { text, blocks };
}
