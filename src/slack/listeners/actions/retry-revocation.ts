import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function retryRevocation({ service, surface, followUps }: ListenerDeps) {
  return requestButton(
    { surface, followUps },
    (requestId, userId) => service.retryRevocation(requestId, userId),
    ({ view }) => `Retrying the revocation of ${view.humanId} now; the alert updates with the result.`,
  );
}
