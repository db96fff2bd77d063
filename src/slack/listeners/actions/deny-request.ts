import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types';
import { clickedRequest } from './decision-context';

export function denyRequest({ service, surface }: ListenerDeps) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const { requestId, userId, channelId } = clickedRequest(body, action);
    const result = await service.deny(requestId, userId);
    if (!channelId) return;
    const text = result.ok ? `${result.withdrawn ? 'You withdrew' : 'You denied'} ${result.view.humanId}.` : result.message;
    await surface.postEphemeral(channelId, userId, text);
  };
}
