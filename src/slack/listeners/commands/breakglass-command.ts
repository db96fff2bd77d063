import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { parseCommand } from '../../../domain/command';
import { buildHelpText } from '../../blocks/help-message';
import { buildRequestModal } from '../../blocks/request-modal';
import { buildEmergencyConfirmModal } from '../../blocks/emergency';
import type { SlackMessage } from '../../surface';
import type { ListenerDeps } from '../types';
import { answerIncidentClose } from './incident-close-answer';
import { answerSubcommand } from './subcommand-answers';

export const BREAKGLASS_COMMAND = '/breakglass';

/** `/breakglass …`: help, the request modal, an inline request, or a subcommand. Acks at once; answers ephemerally.
 * Opening the modal must beat the trigger_id's 3 s, so it does not wait for the follow-up gate; the rest does. */
export function breakglassCommand(deps: ListenerDeps) {
  const { service, surface, followUps } = deps;
  return async ({ command, ack, respond }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const parsed = parseCommand(command.text ?? '');
    if (parsed.kind === 'invalid') {
      await ack({ response_type: 'ephemeral', text: parsed.message });
      return;
    }
    await ack();
    const answer = (message: string | SlackMessage) =>
      respond({ response_type: 'ephemeral', replace_original: false, ...(typeof message === 'string' ? { text: message } : message) });
    if (parsed.kind === 'emergency') {
      // Checked first (a refusal changes nothing), then confirmed in a modal before anything is recorded; the
      // trigger_id lasts 3 s, so this does not wait for the follow-up gate.
      const { kind: _kind, ...typed } = parsed;
      const prepared = await service.prepareEmergency(command.user_id, { ...typed, via: 'command', channelId: command.channel_id });
      if (!prepared.ok) {
        await answer(`:warning: ${prepared.message}`);
        return;
      }
      await surface.openModal(command.trigger_id, buildEmergencyConfirmModal(prepared.confirmation));
      return;
    }
    if (parsed.kind === 'open-modal') {
      const form = await service.requestForm(command.user_id, command.channel_id);
      if (!form.ok) {
        await answer(form.message);
        return;
      }
      await surface.openModal(command.trigger_id, buildRequestModal({ requestable: form.requestable, channelId: command.channel_id }));
      return;
    }
    await followUps.run(async () => {
      switch (parsed.kind) {
        case 'help':
          await answer(buildHelpText(await service.requestableFor(command.user_id)));
          return;
        case 'request': {
          const result = await service.submitRequest({
            requesterId: command.user_id,
            channelId: command.channel_id,
            resourceId: parsed.resourceId,
            roleId: parsed.roleId,
            durationText: parsed.durationText,
            ticket: parsed.ticket,
            reason: parsed.reason,
          });
          if (!result.ok) await answer(`:warning: ${result.message}`);
          return;
        }
        case 'incident-close':
          await answer(await answerIncidentClose(deps, command.user_id, command.channel_id));
          return;
        default:
          await answer(await answerSubcommand(deps, command.user_id, parsed));
      }
    });
  };
}
