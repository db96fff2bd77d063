import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isChannelId } from '../../../domain/user-text';
import { RequestModal } from '../../blocks/action-ids';
import { buildEmergencyConfirmModal } from '../../blocks/emergency';
import type { ListenerDeps } from '../types';

type StateValues = ViewSubmitAction['view']['state']['values'];

/** Reads the modal's fields. The role block id carries the resource (see buildRequestModal). */
export function readRequestModal(values: StateValues) {
  const { blocks } = RequestModal;
  const roleBlockId = Object.keys(values).find((id) => id.startsWith(`${blocks.role.blockId}:`)) ?? blocks.role.blockId;
  const text = (blockId: string, actionId: string) => (values[blockId]?.[actionId]?.value ?? '').trim();
  return {
    resourceId: values[blocks.resource.blockId]?.[blocks.resource.actionId]?.selected_option?.value ?? '',
    roleId: values[roleBlockId]?.[blocks.role.actionId]?.selected_option?.value ?? '',
    roleBlockId,
    durationText: text(blocks.duration.blockId, blocks.duration.actionId),
    ticket: text(blocks.ticket.blockId, blocks.ticket.actionId) || null,
    reason: text(blocks.reason.blockId, blocks.reason.actionId),
    emergency: values[blocks.kind.blockId]?.[blocks.kind.actionId]?.selected_option?.value === 'emergency',
  };
}

/** Submitting the request modal: field errors inline (response_action: errors), otherwise close it and post the
 * request (after the ack, through the follow-up gate). */
export function requestModalSubmitted({ service, surface, followUps, logger }: ListenerDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const fields = readRequestModal(view.state.values);
    // The form carries the channel it was opened in (buildRequestModal); anything else was not made by this bot.
    if (!isChannelId(view.private_metadata)) {
      await ack({
        response_action: 'errors',
        errors: { [RequestModal.blocks.resource.blockId]: 'This form lost the channel it was opened in. Close it and run /breakglass again in the incident channel.' },
      });
      return;
    }
    const { emergency, roleBlockId: _roleBlockId, ...request } = fields;
    const input = { ...fields, requesterId: body.user.id, channelId: view.private_metadata };
    // Emergency (no approval): checked as such, then the form turns into the confirmation (nothing recorded yet).
    const prepared = emergency ? await service.prepareEmergency(body.user.id, { ...request, via: 'form', channelId: view.private_metadata }) : null;
    const check = prepared ?? (await service.checkRequest(input));
    if (prepared?.ok) {
      await ack({ response_action: 'update', view: buildEmergencyConfirmModal(prepared.confirmation) });
      return;
    }
    if (!check.ok) {
      const blockByField = {
        resource: RequestModal.blocks.resource.blockId,
        role: fields.roleBlockId,
        duration: RequestModal.blocks.duration.blockId,
        ticket: RequestModal.blocks.ticket.blockId,
        reason: RequestModal.blocks.reason.blockId,
      } as const;
      await ack({ response_action: 'errors', errors: { [blockByField[check.field]]: check.message } });
      return;
    }
    await ack();
    await followUps.run(async () => {
      const result = await service.submitRequest(input);
      if (result.ok) return;
      // The modal is gone, so the refusal goes to the channel ephemerally, or by DM when that is impossible.
      try {
        await surface.postEphemeral(input.channelId, input.requesterId, `:warning: ${result.message}`);
      } catch (err) {
        logger.debug({ err }, 'ephemeral answer failed; sending a DM');
        await surface.sendDirectMessage(input.requesterId, { text: `:warning: ${result.message}`, blocks: [] });
      }
    });
  };
}
