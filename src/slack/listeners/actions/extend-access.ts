import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { buildExtendModal } from '../../blocks/extension';
import type { ListenerDeps } from '../types';
import { answerClicker } from './request-button';

/** Extend (reminder DM, App Home): opens the Extend form, or says why the access cannot be extended. */
export function extendAccess(deps: ListenerDeps) {
  const { service, surface } = deps;
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const options = await service.extensionOptions(action.value ?? '', userId);
    if (options.ok && options.maxMoreSeconds > 0) {
      await surface.openModal(body.trigger_id, buildExtendModal(options.view, options));
      return;
    }
    const message = options.ok ? `${options.view.humanId} has reached the longest total the policy allows; it cannot be extended.` : options.message;
    await answerClicker(deps, body, message);
  };
}
