import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { incidentClosedAnswer } from '../../blocks/incident-close';
import type { ListenerDeps } from '../types';
import { answerClicker } from './request-button';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** Confirm on the answer to `/breakglass incident close`: ends what was listed (the use case checks again, under
 * lock, what the clicker may end and what is still live), and answers the clicker. */
export function confirmIncidentClose(deps: ListenerDeps) {
  return async ({ ack, body, action }: ButtonArgs): Promise<void> => {
    await ack();
    await deps.followUps.run(async () => {
      const target = parseTarget(action.value);
      if (!target) {
        await answerClicker(deps, body, ':warning: That button is not one I made; run `/breakglass incident close` again.');
        return;
      }
      const result = await deps.service.closeIncident(target.channelId, body.user.id, target.listedAt);
      await answerClicker(deps, body, result.ok ? incidentClosedAnswer(result) : `:warning: ${result.message}`);
    });
  };
}

function parseTarget(value: string | undefined): { channelId: string; listedAt: Date } | null {
  try {
    const parsed = JSON.parse(value ?? '') as { channelId?: unknown; listedAt?: unknown };
    const listedAt = new Date(String(parsed.listedAt));
    if (typeof parsed.channelId !== 'string' || Number.isNaN(listedAt.getTime())) return null;
    return { channelId: parsed.channelId, listedAt };
  } catch {
    return null;
  }
}
