import type { Policy, ResourceRule, RoleRule } from './types';

export interface ResourceRole {
  resource: ResourceRule;
  role: RoleRule;
}

const EVERYONE = '*';

function isUserGroupId(principal: string): boolean {
  return principal.startsWith('S');
}

/** True when the user is named, is in a named user group (S…), or the list contains "*". */
export function principalMatches(principals: readonly string[], userId: string, userGroupIds: ReadonlySet<string>): boolean {
  return principals.some((principal) => {
    if (principal === EVERYONE) return true;
    return isUserGroupId(principal) ? userGroupIds.has(principal) : principal === userId;
  });
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
