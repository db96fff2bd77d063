/** Who may see which request (commands, App Home). Pure: the caller resolves the viewer's groups and the role. */
import { findRole, principalMatches } from '../policy/policy-queries';
import type { Policy } from '../policy/types';

export interface Viewer {
  userId: string;
  /** The policy's user groups the viewer is in, and the on-call schedules they are on call for now. */
  groupIds: ReadonlySet<string>;
  isAdmin: boolean;
}

/** The parts of a request visibility depends on. */
export interface RequestAccessFacts {
  requesterId: string;
  resourceId: string;
  roleId: string;
}

export function viewerOf(policy: Policy, userId: string, groupIds: ReadonlySet<string>): Viewer {
  return { userId, groupIds, isAdmin: policy.admins.includes(userId) };
}

/** Approvers of the request's role, as the policy names them now. A role the policy no longer has has none. */
export function isApproverOf(policy: Policy, viewer: Viewer, request: RequestAccessFacts): boolean {
  const rule = findRole(policy, request.resourceId, request.roleId);
  return rule !== null && principalMatches(rule.role.approvers, viewer.userId, viewer.groupIds);
}

/** Emergency reviewers of the request's role: as the policy names them now, else those named when it was invoked. */
export function isReviewerOf(policy: Policy, viewer: Viewer, request: RequestAccessFacts, namedAtInvocation: readonly string[] = []): boolean {
  const reviewers = findRole(policy, request.resourceId, request.roleId)?.role.emergency?.reviewers ?? namedAtInvocation;
  return principalMatches(reviewers, viewer.userId, viewer.groupIds);
}

/** Whether an unreviewed emergency grant belongs in the viewer's "Emergency access to review": its reviewers and the
 * admins, never its requester. The review checks again on click. */
export function awaitsReviewFrom(policy: Policy, viewer: Viewer, request: RequestAccessFacts, namedAtInvocation: readonly string[]): boolean {
  return request.requesterId !== viewer.userId && (viewer.isAdmin || isReviewerOf(policy, viewer, request, namedAtInvocation));
}

/** The requester sees their own requests, approvers and emergency reviewers of a role see that role's requests,
 * admins see everything.
 * Everyone else is told "not found or not visible", so a request's existence does not leak. */
export function canSee(policy: Policy, viewer: Viewer, request: RequestAccessFacts): boolean {
  return viewer.isAdmin || request.requesterId === viewer.userId || isApproverOf(policy, viewer, request) || isReviewerOf(policy, viewer, request);
}

/** Whether the request belongs in the viewer's "Waiting for your approval": an approver who is not the requester
 * and has not approved yet. The approval flow checks again on click; this only decides what is offered. */
export function awaitsApprovalFrom(policy: Policy, viewer: Viewer, request: RequestAccessFacts & { approvedBy: readonly string[] }): boolean {
  return request.requesterId !== viewer.userId && !request.approvedBy.includes(viewer.userId) && isApproverOf(policy, viewer, request);
}

/** The same answer whether the request does not exist or is not the viewer's to see. */
export function notVisibleMessage(humanId: string): string {
  return `I cannot find ${humanId}, or you are not allowed to see it. A request is visible to its requester, the approvers of its role and Breakglass admins.`;
}
