import type { View, PlainTextOption } from '@slack/web-api';
import { formatDuration } from '../../domain/duration';
import type { RequestableResource, RequestableRole } from '../../domain/requestable-role';
import { RequestModal } from './action-ids';

export type { RequestableRole };

const text = (value: string) => ({ type: 'plain_text' as const, text: value.slice(0, 75) });

/** The request form. Only resources and roles the user may request are offered; picking a resource
 * re-renders the form (views.update) with that resource's roles. private_metadata carries the channel id. */
export function buildRequestModal(input: { requestable: readonly RequestableRole[]; selectedResourceId?: string; channelId: string }): View {
  const { blocks: ids } = RequestModal;
  const resources = [...new Map(input.requestable.map(({ resource }) => [resource.id, resource])).values()];
  const selected = resources.find((r) => r.id === input.selectedResourceId) ?? resources[0];
  const resourceOption = (resource: RequestableResource): PlainTextOption => ({
    text: text(resource.description ? `${resource.id} — ${resource.description}` : resource.id),
    value: resource.id,
  });
  const roleOptions: PlainTextOption[] = input.requestable
    .filter(({ resource }) => resource.id === selected?.id)
    .map(({ role }) => ({
      text: text(`${role.id} (up to ${formatDuration(role.maxDurationSeconds)}, ${role.approvals} approval${role.approvals === 1 ? '' : 's'})`),
      value: role.id,
    }));
  const selectedRoles = input.requestable.filter(({ resource }) => resource.id === selected?.id);
  const rolesNeedingTicket = selectedRoles.filter(({ role }) => role.requireTicket).map(({ role }) => role.id);
  // Required only when every role offered needs one. With a mix, Slack cannot tell which role will be picked, so
  // the field stays optional and the submission's inline errors ask for a ticket where the chosen role needs one.
  const ticketOptional = rolesNeedingTicket.length < selectedRoles.length;
  const emergencyRoles = selectedRoles.filter(({ role }) => role.emergency).map(({ role }) => `${role.id} (up to ${formatDuration(role.emergency!.maxDurationSeconds)})`);
  const ticketHint = ticketOptional && rolesNeedingTicket.length > 0 ? { hint: text(`Required for ${rolesNeedingTicket.join(', ')}`) } : {};
  return {
    type: 'modal',
    callback_id: RequestModal.callbackId,
    private_metadata: input.channelId,
    title: text('Break-glass access'),
    submit: text('Request'),
    close: text('Cancel'),
    blocks: [
      {
        type: 'input',
        block_id: ids.resource.blockId,
        dispatch_action: true,
        label: text('Resource'),
        element: {
          type: 'static_select',
          action_id: ids.resource.actionId,
          options: resources.map(resourceOption),
          ...(selected ? { initial_option: resourceOption(selected) } : {}),
        },
      },
      {
        type: 'input',
        // The block id changes with the resource so Slack does not keep a role selected for another resource.
        block_id: `${ids.role.blockId}:${selected?.id ?? 'none'}`,
        label: text('Role'),
        element: { type: 'static_select', action_id: ids.role.actionId, options: roleOptions, ...(roleOptions.length === 1 ? { initial_option: roleOptions[0] } : {}) },
      },
      {
        type: 'input',
        block_id: ids.duration.blockId,
        label: text('Duration'),
        hint: text('45s, 30m, 2h or 1d'),
        element: { type: 'plain_text_input', action_id: ids.duration.actionId, placeholder: text('30m') },
      },
      {
        type: 'input',
        block_id: ids.ticket.blockId,
        optional: ticketOptional,
        label: text('Ticket'),
        ...ticketHint,
        element: { type: 'plain_text_input', action_id: ids.ticket.actionId, placeholder: text('INC-4211') },
      },
      {
        type: 'input',
        block_id: ids.reason.blockId,
        label: text('Reason'),
        element: { type: 'plain_text_input', action_id: ids.reason.actionId, multiline: true, max_length: 1000 },
      },
      ...(emergencyRoles.length > 0 ? [kindBlock(emergencyRoles)] : []),
    ],
  };
}

const NORMAL: PlainTextOption = { text: text('Ask the approvers'), value: 'normal' };

/** "Emergency (no approval)": offered when a role of the selected resource allows it; checked on submit, confirmed
 * in a second step before anything is recorded. */
function kindBlock(emergencyRoles: readonly string[]) {
  const { kind } = RequestModal.blocks;
  return {
    type: 'input' as const,
    block_id: kind.blockId,
    label: text('Approval'),
    hint: text(`Emergency access is allowed for ${emergencyRoles.join(', ')}`),
    element: {
      type: 'radio_buttons' as const,
      action_id: kind.actionId,
      initial_option: NORMAL,
      options: [NORMAL, { text: text('Emergency (no approval) — granted at once, reviewed afterwards'), value: 'emergency' }],
    },
  };
}
