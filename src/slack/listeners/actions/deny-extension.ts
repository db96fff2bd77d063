import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function denyExtension({ service, surface, followUps, homes }: ListenerDeps) {
  return requestButton(
    { surface, followUps, homes },
    (extensionId, userId) => service.denyExtension(extensionId, userId),
    ({ view, withdrawn }) => (withdrawn ? `You withdrew the extension of ${view.humanId}.` : `You denied the extension of ${view.humanId}; it ends at its current time.`),
  );
}
