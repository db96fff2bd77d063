import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { ExtendModal } from '../../blocks/action-ids';
import type { ListenerDeps } from '../types';

/** Submitting the Extend form: problems inline (response_action: errors), otherwise close it, extend or ask for
 * approval, and tell the requester by DM (the form is gone by then; after the ack, through the follow-up gate). */
export function extendModalSubmitted({ service, surface, followUps }: ListenerDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const { blockId, actionId } = ExtendModal.blocks.duration;
    const durationText = (view.state.values[blockId]?.[actionId]?.value ?? '').trim();
    const requestId = view.private_metadata;
    const userId = body.user.id;
    const check = await service.checkExtension(requestId, userId, durationText);
    if (!check.ok) {
      await ack({ response_action: 'errors', errors: { [blockId]: check.message } });
      return;
    }
    await ack();
    await followUps.run(async () => {
      const result = await service.requestExtension(requestId, userId, durationText);
      const text = result.ok ? `:stopwatch: ${result.message}` : `:warning: ${result.message}`;
      await surface.sendDirectMessage(userId, { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
    });
  };
}
