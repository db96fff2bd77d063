import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Refusal } from '../../../domain/approval-rules';
import type { SlackSurface } from '../../surface';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** What every button on a request message does: ack, call the service with the request id (the button's value:
 * ids only, state is re-read) and the clicker, then answer the clicker ephemerally — the refusal's message, or
 * `confirm` on success. */
export function requestButton<Success extends { ok: true }>(
  surface: SlackSurface,
  decide: (requestId: string, userId: string) => Promise<Success | Refusal<string>>,
  confirm: (result: Success) => string,
) {
  return async ({ ack, body, action }: ButtonArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const channelId = body.channel?.id ?? body.container?.channel_id;
    const result = await decide(action.value ?? '', userId);
    if (!channelId) return;
    await surface.postEphemeral(channelId, userId, result.ok ? confirm(result as Success) : result.message);
  };
}
