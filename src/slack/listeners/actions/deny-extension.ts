import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function denyExtension(deps: ListenerDeps) {
  const { service } = deps;
  return requestButton(
    deps,
    (extensionId, userId) => service.denyExtension(extensionId, userId),
    ({ view, withdrawn }) => (withdrawn ? `You withdrew the extension of ${view.humanId}.` : `You denied the extension of ${view.humanId}; it ends at its current time.`),
  );
}
