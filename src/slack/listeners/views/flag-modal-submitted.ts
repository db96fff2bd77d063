import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { FlagModal } from '../../blocks/action-ids';
import type { ListenerDeps } from '../types';

/** A reviewer flags an emergency grant: a refusal (not a reviewer, already reviewed, no reason) shows in the form;
 * otherwise the flag is recorded and the form closes (the alert goes out from the outbox). */
export function flagModalSubmitted({ service }: ListenerDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const { blockId, actionId } = FlagModal.blocks.reason;
    const reason = view.state.values[blockId]?.[actionId]?.value ?? '';
    const result = await service.flagEmergency(view.private_metadata, body.user.id, reason);
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: { [blockId]: result.message } });
      return;
    }
    await ack();
  };
}
