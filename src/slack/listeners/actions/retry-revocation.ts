import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function retryRevocation(deps: ListenerDeps) {
  const { service } = deps;
  return requestButton(
    deps,
    (requestId, userId) => service.retryRevocation(requestId, userId),
    ({ view }) => `Retrying the revocation of ${view.humanId} now; the alert updates with the result.`,
  );
}
