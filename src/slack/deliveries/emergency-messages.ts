import type { RequestView } from '../../domain/request-view';
import type { EffectHandler } from '../../effects/effect-runner';
import type { EffectRow } from '../../effects/outbox';
import type { EmergencyNotice } from '../../requests/effect-plans';
import { buildBreakGlassOffer, buildEmergencyAlert, buildReviewOutcome, buildReviewOverdue } from '../blocks/emergency';
import type { SlackMessage } from '../blocks/message';
import type { SlackSurface } from '../surface';
import { rethrowForRunner } from './slack-failure';

export interface EmergencyMessagesDeps {
  surface: SlackSurface;
  loadView(requestId: string): Promise<RequestView>;
  /** Whether the request may be broken open now (still PENDING and not stale): the offer is sent only then. */
  offerStillValid(view: RequestView): boolean;
  now?: () => Date;
}

/** Emergency alerts to channels and reviewers' DMs, and the requester's "Break glass now" offer, from the outbox;
 * each rendered from the request as it is when delivered. */
export function emergencyMessageHandlers(deps: EmergencyMessagesDeps): Record<string, EffectHandler> {
  const now = () => deps.now?.() ?? new Date();

  function render(view: RequestView, notice: EmergencyNotice): SlackMessage {
    switch (notice.message) {
      case 'invoked':
        return buildEmergencyAlert(view, now());
      case 'reviewed':
      case 'flagged':
        return buildReviewOutcome(view, now());
      case 'reminder':
        return buildReviewOverdue(view, notice.notice ?? 1, 'reviewer', now());
      case 'overdue':
        return buildReviewOverdue(view, notice.notice ?? 1, 'channel', now());
    }
  }

  async function deliverNotice([effect]: EffectRow[]): Promise<void> {
    const notice = effect.payload as EmergencyNotice;
    const view = await deps.loadView(effect.requestId!);
    // A reminder for a review settled meanwhile is not sent.
    if ((notice.message === 'reminder' || notice.message === 'overdue') && view.review?.verdict) return;
    const message = render(view, notice);
    try {
      if ('channel' in notice) await deps.surface.postMessage(notice.channel, message);
      else await deps.surface.sendDirectMessage(notice.reviewer, message);
    } catch (err) {
      rethrowForRunner(err, 'posting an emergency access alert');
    }
  }

  async function deliverOffer([effect]: EffectRow[]): Promise<void> {
    const view = await deps.loadView(effect.requestId!);
    if (!deps.offerStillValid(view)) return;
    try {
      await deps.surface.sendDirectMessage(view.requesterId, buildBreakGlassOffer(view));
    } catch (err) {
      rethrowForRunner(err, 'offering emergency access to the requester');
    }
  }

  return { 'emergency.notice': { deliver: deliverNotice }, 'emergency.offer': { deliver: deliverOffer } };
}
