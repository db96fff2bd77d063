import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

/** "I'm done": the requester (or an approver or admin) ends the access now; same rules as Revoke now. */
export function finishAccess(deps: ListenerDeps) {
  const { service } = deps;
  return requestButton(
    deps,
    (requestId, userId) => service.revokeNow(requestId, userId),
    ({ view }) => `Thanks — revoking ${view.humanId} now; the audit summary follows in the incident channel.`,
  );
}
