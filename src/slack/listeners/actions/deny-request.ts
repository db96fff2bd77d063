import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function denyRequest({ service, surface, followUps, homes }: ListenerDeps) {
  return requestButton(
    { surface, followUps, homes },
    (requestId, userId) => service.deny(requestId, userId),
    ({ view, withdrawn }) => `${withdrawn ? 'You withdrew' : 'You denied'} ${view.humanId}.`,
  );
}
