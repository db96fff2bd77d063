import { isOnCallPrincipal } from '../domain/on-call';
import type { Policy, ResourceRule, RoleRule } from './types';

export interface ResourceRole {
  resource: ResourceRule;
  role: RoleRule;
}

const EVERYONE = '*';

export function isUserGroupId(principal: string): boolean {
  return principal.startsWith('S');
}

/** True when the user is named, the list contains "*", or the user belongs to a principal that stands for several
 * people: a user group (S…) they are in, or an on-call schedule (schedule:…, pagerduty:…) they are on call for now.
 * `memberships` holds those principals, resolved by the caller (UserDirectory.membershipsOf / groupsOf). */
export function principalMatches(principals: readonly string[], userId: string, memberships: ReadonlySet<string>): boolean {
  return principals.some((principal) => principal === EVERYONE || principal === userId || memberships.has(principal));
}

/** Whether the principal names one person (U…/W…), as opposed to "*", a user group or an on-call schedule. */
export function isPersonPrincipal(principal: string): boolean {
  return principal !== EVERYONE && !isUserGroupId(principal) && !isOnCallPrincipal(principal);
}

/** Every on-call schedule named as approver, sorted, so callers know whose on-call to look up. */
export function referencedOnCallPrincipals(policy: Policy): string[] {
  const principals = new Set<string>();
  for (const { role } of allRoles(policy))
    for (const principal of [...role.approvers, ...(role.emergency?.reviewers ?? [])]) if (isOnCallPrincipal(principal)) principals.add(principal);
  return [...principals].sort();
}

/** Every user group named as requester, approver or emergency reviewer, sorted, so callers know whose membership to look up. */
export function referencedGroupIds(policy: Policy): string[] {
  const groupIds = new Set<string>();
  for (const { role } of allRoles(policy)) {
    for (const principal of [...role.requesters, ...role.approvers, ...(role.emergency?.reviewers ?? [])]) {
      if (isUserGroupId(principal)) groupIds.add(principal);
    }
  }
  return [...groupIds].sort();
}

export function findRole(policy: Policy, resourceId: string, roleId: string): ResourceRole | null {
  const resource = policy.resources.find((candidate) => candidate.id === resourceId);
  const role = resource?.roles.find((candidate) => candidate.id === roleId);
  return resource && role ? { resource, role } : null;
}

/** The roles this user may request, in policy order. */
export function requestableRoles(policy: Policy, userId: string, userGroupIds: ReadonlySet<string>): ResourceRole[] {
  return allRoles(policy).filter(({ role }) => principalMatches(role.requesters, userId, userGroupIds));
}

function allRoles(policy: Policy): ResourceRole[] {
  return policy.resources.flatMap((resource) => resource.roles.map((role) => ({ resource, role })));
}
