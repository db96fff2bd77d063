/** What the audience check reads of the policy (structurally, so domain/ stays free of policy/ imports). */
export interface ReportAudiencePolicy {
  admins: readonly string[];
  resources: ReadonlyArray<{ roles: ReadonlyArray<{ emergency?: { reviewers: readonly string[] } }> }>;
}

/** Who may read the review reports (`/breakglass report`): Breakglass admins, and the emergency reviewers of any
 * role (users, or members of a user group (S…) named there). On-call principals (pagerduty:…, schedule:…) are not
 * resolved here: whoever is on call reads the digest in its channel. */
export function mayReadReports(policy: ReportAudiencePolicy, person: { userId: string; groupIds: ReadonlySet<string> }): boolean {
  if (policy.admins.includes(person.userId)) return true;
  const isPerson = (principal: string) => principal === person.userId || (/^S[A-Z0-9]+$/.test(principal) && person.groupIds.has(principal));
  return policy.resources.some((resource) => resource.roles.some((role) => role.emergency?.reviewers.some(isPerson) ?? false));
}

export const REPORT_REFUSAL = 'Only Breakglass admins and emergency reviewers can see access reports. Ask an admin if you need one.';
