import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types';
import { clickedRequest } from './decision-context';

export function approveRequest({ service, surface }: ListenerDeps) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const { requestId, userId, channelId } = clickedRequest(body, action);
    const result = await service.approve(requestId, userId);
    if (!channelId) return;
    const text = result.ok
      ? result.quorum
        ? `You approved ${result.view.humanId}; that completes the approvals.`
        : `You approved ${result.view.humanId}; ${result.view.requiredApprovals - result.view.approvals.length} more needed.`
      : result.message;
    await surface.postEphemeral(channelId, userId, text);
  };
}
