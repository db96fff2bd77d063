import type { EffectHandler } from '../../effects/effect-runner';
import type { EffectRow } from '../../effects/outbox';
import type { RequestAccessFacts } from '../../domain/visibility';

/** App Home refreshes: whose Homes a batch of changed requests concerns, each republished once (HomePublisher
 * coalesces per user and never throws: a Home a little stale must never hold up anything else). */
export function homeRefreshHandlers(deps: {
  loadFacts(requestIds: readonly string[]): Promise<RequestAccessFacts[]>;
  requestChanged(request: RequestAccessFacts): Promise<void>;
}): Record<string, EffectHandler> {
  async function refresh(effects: EffectRow[]): Promise<void> {
    const ids = [...new Set(effects.map((effect) => effect.requestId).filter((id): id is string => id !== null))];
    const requests = await deps.loadFacts(ids);
    await Promise.all(requests.map((request) => deps.requestChanged(request)));
  }
  return { 'home.changed': { deliver: refresh, batch: 200 } };
}
