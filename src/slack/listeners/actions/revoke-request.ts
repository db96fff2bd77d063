import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function revokeRequest(deps: ListenerDeps) {
  const { service } = deps;
  return requestButton(
    deps,
    (requestId, userId) => service.revokeNow(requestId, userId),
    ({ view }) => `Revoking ${view.humanId} now; the audit summary follows when it is done.`,
  );
}
