import type { DriftReports } from './drift-check';
import { effectsFor } from './effect-plans';
import { queueEffects, type RequestStore } from './request-store';

/** What the drift check finds, told through the outbox like everything else: access back on a target after its
 * request ended raises an alert in the thread and the security channel; access missing for an ACTIVE request is
 * reported in its thread. */
export function driftReports(store: RequestStore): DriftReports {
  return {
    reappeared: (request, outcome) => store.transaction(async (tx) => queueEffects(tx, [effectsFor.driftAlert(request, outcome), effectsFor.home(request)])),
    missing: (request) => store.transaction(async (tx) => queueEffects(tx, [effectsFor.thread(request, { notice: 'access_missing' })])),
  };
}
