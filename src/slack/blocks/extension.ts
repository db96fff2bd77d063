import type { KnownBlock, View } from '@slack/web-api';
import { remainingApprovals } from '../../domain/approval-rules';
import { formatDuration } from '../../domain/duration';
import type { ExtensionView } from '../../domain/extension-view';
import type { RequestView } from '../../domain/request-view';
import type { SlackMessage } from './message';
import { ActionIds, ExtendModal } from './action-ids';
import { inlineCode, mentionUser, slackDate } from './format';

const text = (value: string) => ({ type: 'plain_text' as const, text: value });

function extensionStatusLine(extension: ExtensionView): string {
  switch (extension.status) {
    case 'PENDING': {
      const remaining = remainingApprovals(extension.approvals.length, extension.requiredApprovals);
      return `:hourglass_flowing_sand: Waiting for ${remaining} more approval${remaining === 1 ? '' : 's'} (${extension.approvals.length} of ${extension.requiredApprovals})`;
    }
    case 'APPLIED':
      return `:white_check_mark: Extended${extension.toExpiresAt ? ` until ${slackDate(extension.toExpiresAt)}` : ''}`;
    case 'DENIED':
      return extension.decidedBy === extension.requestedBy
        ? `:no_entry_sign: Withdrawn by ${mentionUser(extension.requestedBy)}`
        : `:no_entry_sign: Denied${extension.decidedBy ? ` by ${mentionUser(extension.decidedBy)}` : ''}`;
    case 'REFUSED':
      return `:x: Approved but not applied: ${inlineCode(extension.refusalReason ?? 'unknown reason')}`;
    case 'CANCELLED':
      return `:lock: Closed: ${inlineCode(extension.refusalReason ?? 'the access ended before a decision')}`;
  }
}

/** The extension request in the request's thread, with Approve / Deny while it waits (values: the extension id). */
export function buildExtensionMessage(view: RequestView, extension: ExtensionView): SlackMessage {
  const ask = `${mentionUser(extension.requestedBy)} asks to extend ${view.humanId} (\`${view.roleId}\` on \`${view.resourceId}\`) by *${formatDuration(extension.extendBySeconds)}*`;
  const approvedBy = extension.approvals.length > 0 ? `Approved by ${extension.approvals.map((a) => mentionUser(a.approverId)).join(', ')}` : null;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `:stopwatch: ${ask}.${view.expiresAt && extension.status === 'PENDING' ? ` It ends ${slackDate(view.expiresAt)} now.` : ''}` },
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: [extensionStatusLine(extension), approvedBy].filter(Boolean).join(' · ') }] },
  ];
  if (extension.status === 'PENDING') {
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', action_id: ActionIds.approveExtension, text: text('Approve extension'), style: 'primary', value: extension.id },
        {
          type: 'button',
          action_id: ActionIds.denyExtension,
          text: text('Deny'),
          style: 'danger',
          value: extension.id,
          confirm: { title: text('Deny the extension?'), text: text('The access still ends at its current time.'), confirm: text('Deny'), deny: text('Cancel') },
        },
      ],
    });
  }
  return { text: `${view.humanId}: extension by ${formatDuration(extension.extendBySeconds)} requested`, blocks };
}

/** Thread reply (and DM to the requester) once an extension is decided or applied. */
export function extensionOutcomeNotice(view: RequestView, extension: ExtensionView): SlackMessage {
  const line = `${view.humanId}: ${extensionStatusLine(extension)}.`;
  return { text: line.replace(/:[a-z_]+: /, ''), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: line } }] };
}

/** Thread reply when the requester extended on their own (the policy needs no approvals for extensions). */
export function extendedNotice(view: RequestView, actorId: string, extendBySeconds: number): SlackMessage {
  const line = `:stopwatch: ${mentionUser(actorId)} extended ${view.humanId} by ${formatDuration(extendBySeconds)}; it now ends ${view.expiresAt ? slackDate(view.expiresAt) : '?'}.`;
  return { text: `${view.humanId} extended by ${formatDuration(extendBySeconds)}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: line } }] };
}

/** Buttons for the requester's active access: more time, or end it now. Values: the request id. */
export function activeAccessButtons(view: RequestView, { canExtend }: { canExtend: boolean }): KnownBlock {
  return {
    type: 'actions',
    elements: [
      ...(canExtend ? [{ type: 'button' as const, action_id: ActionIds.extendAccess, text: text('Extend'), value: view.id }] : []),
      {
        type: 'button',
        action_id: ActionIds.finishAccess,
        text: text("I'm done"),
        value: view.id,
        confirm: { title: text('End the access now?'), text: text(`${view.humanId} is revoked at once.`), confirm: text('Revoke now'), deny: text('Keep it') },
      },
    ],
  };
}

/** The DM sent `remindBefore` the expiry. */
export function buildReminderMessage(view: RequestView, options: { maxMoreSeconds: number; approvals: number }): SlackMessage {
  const ends = view.expiresAt ? slackDate(view.expiresAt) : 'soon';
  const howToExtend =
    options.maxMoreSeconds <= 0
      ? 'It has reached the longest total the policy allows, so it cannot be extended.'
      : options.approvals === 0
        ? `You can extend it by up to ${formatDuration(options.maxMoreSeconds)}.`
        : `You can ask for up to ${formatDuration(options.maxMoreSeconds)} more; ${options.approvals === 1 ? 'an approver has' : `${options.approvals} approvers have`} to agree in the request's thread.`;
  const line = `:alarm_clock: Your access ${view.humanId} (\`${view.roleId}\` on \`${view.resourceId}\`) ends ${ends}. ${howToExtend}`;
  return {
    text: `${view.humanId} ends soon`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: line } }, activeAccessButtons(view, { canExtend: options.maxMoreSeconds > 0 })],
  };
}

/** The Extend form: how much more time. Submitted values are checked by the service; problems show inline. */
export function buildExtendModal(view: RequestView, options: { maxMoreSeconds: number; approvals: number }): View {
  const ids = ExtendModal.blocks;
  const approvals =
    options.approvals === 0 ? 'It applies at once.' : `${options.approvals === 1 ? 'One approver' : `${options.approvals} approvers`} must agree in the request's thread.`;
  return {
    type: 'modal',
    callback_id: ExtendModal.callbackId,
    private_metadata: view.id,
    title: text(`Extend ${view.humanId}`),
    submit: text(options.approvals === 0 ? 'Extend' : 'Ask'),
    close: text('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `\`${view.roleId}\` on \`${view.resourceId}\` ends ${view.expiresAt ? slackDate(view.expiresAt) : '?'}. You can add up to ${formatDuration(options.maxMoreSeconds)}. ${approvals}`,
        },
      },
      {
        type: 'input',
        block_id: ids.duration.blockId,
        label: text('More time'),
        hint: text('30m, 1h or 1h30m, added to the current end'),
        element: { type: 'plain_text_input', action_id: ids.duration.actionId, placeholder: text('30m') },
      },
    ],
  };
}
