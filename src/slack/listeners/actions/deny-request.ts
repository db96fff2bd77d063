import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function denyRequest({ service, surface, homes }: ListenerDeps) {
  return requestButton(
    surface,
    (requestId, userId) => service.deny(requestId, userId),
    ({ view, withdrawn }) => `${withdrawn ? 'You withdrew' : 'You denied'} ${view.humanId}.`,
    homes,
  );
}
