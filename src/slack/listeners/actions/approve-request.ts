import { remainingApprovals } from '../../../domain/approval-rules';
import type { ListenerDeps } from '../types';
import { requestButton } from './request-button';

export function approveRequest(deps: ListenerDeps) {
  const { service } = deps;
  return requestButton(
    deps,
    (requestId, userId) => service.approve(requestId, userId),
    ({ view, quorum }) =>
      quorum
        ? `You approved ${view.humanId}; that completes the approvals.`
        : `You approved ${view.humanId}; ${remainingApprovals(view.approvals.length, view.requiredApprovals)} more needed.`,
  );
}
