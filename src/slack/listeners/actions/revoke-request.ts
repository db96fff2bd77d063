import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types';
import { clickedRequest } from './decision-context';

export function revokeRequest({ service, surface }: ListenerDeps) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const { requestId, userId, channelId } = clickedRequest(body, action);
    const result = await service.revokeNow(requestId, userId);
    if (!channelId) return;
    const text = result.ok ? `Revoking ${result.view.humanId} now; the audit summary follows when it is done.` : result.message;
    await surface.postEphemeral(channelId, userId, text);
  };
}
