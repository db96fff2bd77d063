import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Refusal } from '../../../domain/approval-rules';
import type { HomePublisher } from '../../../services/home-publisher';
import type { ListenerDeps } from '../types';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** What every button on a request does: ack, call the service with the request id (the button's value: ids only,
 * state is re-read) and the clicker, then answer the clicker — the refusal's message, or `confirm` on success.
 * Everything after the ack runs through the follow-up gate. The answer is an ephemeral in the click's channel. A
 * click in the App Home has no channel: with `homes`, the Home is republished with the answer at the top;
 * otherwise, or from anywhere else without a channel, it comes by DM. */
export function requestButton<Success extends { ok: true }>(
  { surface, followUps, homes }: Pick<ListenerDeps, 'surface' | 'followUps'> & { homes?: Pick<HomePublisher, 'notify'> },
  decide: (requestId: string, userId: string) => Promise<Success | Refusal<string>>,
  confirm: (result: Success) => string,
) {
  return async ({ ack, body, action }: ButtonArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const channelId = body.channel?.id ?? body.container?.channel_id;
    await followUps.run(async () => {
      const result = await decide(action.value ?? '', userId);
      const answer = result.ok ? confirm(result as Success) : result.message;
      if (channelId) {
        await surface.postEphemeral(channelId, userId, answer);
      } else if (homes && body.view?.type === 'home') {
        await homes.notify(userId, answer);
      } else {
        await surface.sendDirectMessage(userId, { text: answer, blocks: [] });
      }
    });
  };
}
