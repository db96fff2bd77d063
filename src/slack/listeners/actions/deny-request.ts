import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function denyRequest(deps: ListenerDeps) {
  const { service } = deps;
  return requestButton(
    deps,
    (requestId, userId) => service.deny(requestId, userId),
    ({ view, withdrawn }) => `${withdrawn ? 'You withdrew' : 'You denied'} ${view.humanId}.`,
  );
}
