import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs, StaticSelectAction } from '@slack/bolt';
import { buildRequestModal } from '../../blocks/request-modal';
import type { ListenerDeps } from '../types';

/** Picking a resource in the modal re-renders it with that resource's roles. */
export function modalResourceSelected({ service, surface }: ListenerDeps) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<StaticSelectAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    if (!body.view) return;
    // Only what may be requested in the channel the form was opened in.
    const requestable = await service.requestableFor(body.user.id, body.view.private_metadata);
    const view = buildRequestModal({ requestable, selectedResourceId: action.selected_option?.value, channelId: body.view.private_metadata });
    await surface.updateModal(body.view.id, view, body.view.hash);
  };
}
