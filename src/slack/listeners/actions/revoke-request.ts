import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function revokeRequest({ service, surface, followUps }: ListenerDeps) {
  return requestButton(
    { surface, followUps },
    (requestId, userId) => service.revokeNow(requestId, userId),
    ({ view }) => `Revoking ${view.humanId} now; the audit summary follows when it is done.`,
  );
}
