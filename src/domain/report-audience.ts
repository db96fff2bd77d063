/** What the audience check reads of the policy (structurally, so domain/ stays free of policy/ imports). */
export interface ReportAudiencePolicy {
  admins: readonly string[];
  resources: ReadonlyArray<{ roles: ReadonlyArray<{ emergency?: { reviewers: readonly string[] } | null }> }>;
}

/** Who may read the review reports (`/breakglass report`): Breakglass admins, and the emergency reviewers of any
 * role (users, members of a user group (S…) named there, or whoever is on call now for a schedule named there).
 * `memberships`: the person's user groups and the on-call schedules they are on call for now. */
export function mayReadReports(policy: ReportAudiencePolicy, person: { userId: string; memberships: ReadonlySet<string> }): boolean {
  if (policy.admins.includes(person.userId)) return true;
  const isPerson = (principal: string) => principal === person.userId || person.memberships.has(principal);
  return policy.resources.some((resource) => resource.roles.some((role) => role.emergency?.reviewers.some(isPerson) ?? false));
}

export const REPORT_REFUSAL = 'Only Breakglass admins and emergency reviewers can see access reports. Ask an admin if you need one.';
