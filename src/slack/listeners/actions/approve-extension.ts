import { remainingApprovals } from '../../../domain/approval-rules';
import { inlineCode } from '../../../domain/user-text';
import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function approveExtension(deps: ListenerDeps) {
  const { service } = deps;
  return requestButton(
    deps,
    (extensionId, userId) => service.approveExtension(extensionId, userId),
    ({ view, extension, applied }) =>
      applied
        ? `You approved the extension of ${view.humanId}; it now ends later.`
        : extension.status === 'PENDING'
          ? `You approved the extension of ${view.humanId}; ${remainingApprovals(extension.approvals.length, extension.requiredApprovals)} more needed.`
          : `You approved the extension of ${view.humanId}, but it could not be applied: ${inlineCode(extension.refusalReason ?? 'the access changed')}.`,
  );
}
