import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { formatDuration } from '../../../domain/duration';
import { buildFlagModal } from '../../blocks/emergency';
import type { ListenerDeps } from '../types';
import { answerClicker, requestButton } from './request-button';

/** "Break glass now" (the requester's DM or App Home; Slack's confirm dialog came first). */
export function breakGlassNow(deps: ListenerDeps) {
  return requestButton(
    deps,
    (requestId, userId) => deps.service.breakGlassNow(requestId, userId),
    ({ view, cappedFromSeconds }) =>
      `:rotating_light: You broke the glass on ${view.humanId}: granting it now, without approval${cappedFromSeconds ? `, for ${formatDuration(view.durationSeconds)} (the emergency maximum) instead of ${formatDuration(cappedFromSeconds)}` : ''}. The reviewers and the security channel are alerted.`,
  );
}

/** "Reviewed: justified" on an emergency alert: reviewers only. */
export function emergencyJustified(deps: ListenerDeps) {
  return requestButton(
    deps,
    (requestId, userId) => deps.service.justifyEmergency(requestId, userId),
    ({ view }) => `You reviewed the emergency access ${view.humanId} as justified. Thank you.`,
  );
}

/** "Flag": reviewers get the short form asking why (its trigger_id lasts 3 s, so no follow-up gate); anyone else is told why not. */
export function emergencyFlag(deps: ListenerDeps) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const allowed = await deps.service.mayReviewEmergency(action.value ?? '', body.user.id);
    if (allowed.ok) {
      await deps.surface.openModal(body.trigger_id, buildFlagModal(allowed.view));
      return;
    }
    await answerClicker(deps, body, allowed.message);
  };
}
