import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Refusal } from '../../../domain/approval-rules';
import type { ListenerDeps } from '../types';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** Answers whoever clicked a button: an ephemeral in the click's channel; in the App Home (no channel) the Home is
 * republished with the answer at the top; from anywhere else without a channel, a DM. */
export async function answerClicker({ surface, homes }: Pick<ListenerDeps, 'surface' | 'homes'>, body: ButtonArgs['body'], answer: string): Promise<void> {
  const userId = body.user.id;
  const channelId = body.channel?.id ?? body.container?.channel_id;
  if (channelId) await surface.postEphemeral(channelId, userId, answer);
  else if (body.view?.type === 'home') await homes.notify(userId, answer);
  else await surface.sendDirectMessage(userId, { text: answer, blocks: [] });
}

/** What every button on a request does: ack, call the service with the request id (the button's value: ids only,
 * state is re-read) and the clicker, then answer the clicker (answerClicker) — the refusal's message, or `confirm`
 * on success. Everything after the ack runs through the follow-up gate. */
export function requestButton<Success extends { ok: true }>(
  deps: Pick<ListenerDeps, 'surface' | 'homes' | 'followUps'>,
  decide: (requestId: string, userId: string) => Promise<Success | Refusal<string>>,
  confirm: (result: Success) => string,
) {
  return async ({ ack, body, action }: ButtonArgs): Promise<void> => {
    await ack();
    await deps.followUps.run(async () => {
      const result = await decide(action.value ?? '', body.user.id);
      await answerClicker(deps, body, result.ok ? confirm(result as Success) : result.message);
    });
  };
}
