import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { formatDuration } from '../../../domain/duration';
import { mentionChannel } from '../../../domain/user-text';
import { readEmergencyMetadata } from '../../blocks/emergency';
import type { ListenerDeps } from '../types';

/** The requester confirmed emergency access (from the command or the form): close the form, invoke it (checked
 * again: the policy and the requester's live requests may have changed), and answer in the channel, or by DM. */
export function emergencyConfirmed({ service, surface, followUps, logger }: ListenerDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const request = readEmergencyMetadata(view.private_metadata);
    await ack();
    if (!request) {
      logger.warn({ userId: body.user.id }, 'emergency confirmation without a readable request; ignored');
      return;
    }
    const requesterId = body.user.id;
    await followUps.run(async () => {
      const { via, ...input } = request;
      const result = await service.requestEmergency({ ...input, requesterId }, via);
      const text = result.ok
        ? `:rotating_light: Emergency access ${result.view.humanId}: granting \`${result.view.roleId}\` on \`${result.view.resourceId}\` for ${formatDuration(result.view.durationSeconds)} now, without approval. The reviewers and the security channel are alerted; see ${mentionChannel(request.channelId)}.`
        : `:warning: ${result.message}`;
      try {
        await surface.postEphemeral(request.channelId, requesterId, text);
      } catch (err) {
        logger.debug({ err }, 'ephemeral answer failed; sending a DM');
        await surface.sendDirectMessage(requesterId, { text, blocks: [] });
      }
    });
  };
}
