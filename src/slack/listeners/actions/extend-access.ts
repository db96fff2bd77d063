import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { buildExtendModal } from '../../blocks/extension';
import type { ListenerDeps } from '../types';

/** Extend (reminder DM, App Home): opens the Extend form, or says why the access cannot be extended. */
export function extendAccess({ service, surface, homes }: ListenerDeps) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const options = await service.extensionOptions(action.value ?? '', userId);
    if (options.ok && options.maxMoreSeconds > 0) {
      await surface.openModal(body.trigger_id, buildExtendModal(options.view, options));
      return;
    }
    const message = options.ok ? `${options.view.humanId} has reached the longest total the policy allows; it cannot be extended.` : options.message;
    const channelId = body.channel?.id ?? body.container?.channel_id;
    if (channelId) await surface.postEphemeral(channelId, userId, message);
    else if (body.view?.type === 'home') await homes.notify(userId, message);
    else await surface.sendDirectMessage(userId, { text: message, blocks: [] });
  };
}
