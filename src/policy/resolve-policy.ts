import { formatDuration } from '../domain/duration';
import { emailDomain, type WrittenPolicy, type WrittenResource, type WrittenRole, type WrittenSettings } from './policy-schema';
import { toProviderConfig } from './provider-schema';
import { SLACK_USER_PATTERN } from './schema-primitives';
import { type CoreRoleRule, first, type InheritedSection, type TopLevelSection } from './section-types';
import { INHERITED_SECTIONS, TOP_LEVEL_SECTIONS } from './sections';
import type { Policy, ResourceRule, RoleRule } from './types';

// ---------------------------------------------------------------------------------------------------------------
// From the file as written (checked by policy-schema.ts) to the Policy the bot uses. Settings resolve
// role → resource → defaults → built-in; the checks that need the resolved values (approvers somewhere, approvals
// that can be reached, extension caps, unique ids) are made here, with the same "path: message" problems.

const BUILT_IN = {
  approvals: 1,
  maxDurationSeconds: 3_600,
  requireTicket: false,
  requesters: ['*'],
  remindBeforeSeconds: 600,
};
const DEFAULT_REQUEST_TTL_SECONDS = 3_600;
const DEFAULT_REQUESTS_PER_HOUR = 10;
const DEFAULT_ALERT_AFTER_FAILURES = 3;

type Problems = string[];

export function resolvePolicy(written: WrittenPolicy, sourcePath: string, problems: Problems, env: NodeJS.ProcessEnv = {}): Policy | undefined {
  const defaults = written.defaults ?? {};
  const resources = written.resources.map((resource, index) => resolveResource(resource, `resources[${index}]`, defaults, problems));
  reportDuplicateIds(written.resources, 'resources', problems);
  const sections: Record<string, unknown> = {};
  for (const [key, section] of Object.entries(TOP_LEVEL_SECTIONS) as [string, TopLevelSection][]) {
    const value = (written as Record<string, unknown>)[key];
    const report = (at: string, message: string) => {
      problems.push(`${at}: ${message}`);
    };
    sections[key] = section.resolve ? section.resolve(value, { policy: written, report, env }) : value;
  }
  if (problems.length > 0) return undefined;
  const domains: string[] = [];
  for (const domain of written.loginEmailDomains ?? []) domains.push(emailDomain(domain) as string);
  const policy: Policy = {
    sourcePath,
    identities: new Map(Object.entries(written.identities ?? {})),
    loginEmailDomains: domains,
    requestsPerHour: defaults.requestsPerHour ?? DEFAULT_REQUESTS_PER_HOUR,
    resources: resources as ResourceRule[],
    admins: [...(written.admins ?? [])],
    requestTtlSeconds: defaults.requestTtl ?? DEFAULT_REQUEST_TTL_SECONDS,
    revokeAlerts: {
      afterFailures: written.alerts?.afterFailedRevokes ?? DEFAULT_ALERT_AFTER_FAILURES,
      securityChannel: written.alerts?.securityChannel ?? null,
    },
    audit: { publishHeadFile: written.audit?.publishHead ?? null },
  };
  return { ...policy, ...sections };
}

function resolveResource(resource: WrittenResource, path: string, defaults: WrittenSettings, problems: Problems): ResourceRule | undefined {
  const roles = resource.roles.map((role, index) => resolveRole(role, `${path}.roles[${index}]`, [role, resource, defaults], problems));
  reportDuplicateIds(resource.roles, `${path}.roles`, problems);
  if (roles.some((role) => role === undefined)) return undefined;
  return { id: resource.id, description: resource.description ?? null, provider: toProviderConfig(resource.provider), roles: roles as RoleRule[] };
}

/** The first level (role, resource, defaults) that sets the key. */
function inherited<K extends keyof WrittenSettings>(levels: readonly WrittenSettings[], key: K): WrittenSettings[K] | undefined {
  return levels.find((level) => level[key] !== undefined)?.[key];
}

function resolveRole(role: WrittenRole, path: string, levels: readonly WrittenSettings[], problems: Problems): RoleRule | undefined {
  const problemsBefore = problems.length;
  const report = (at: string, message: string) => {
    problems.push(`${path}.${at}: ${message}`);
  };
  const approvers = inherited(levels, 'approvers');
  if (approvers === undefined) {
    report('approvers', 'missing; set approvers on the role, its resource, or in defaults');
    return undefined;
  }
  const approvals = inherited(levels, 'approvals') ?? BUILT_IN.approvals;
  const maxDurationSeconds = inherited(levels, 'maxDuration') ?? BUILT_IN.maxDurationSeconds;
  reportUnreachableApprovals(report, 'approvals', approvals, approvers);
  const extension = {
    approvals: levels.find((level) => level.extension?.approvals !== undefined)?.extension?.approvals ?? approvals,
    maxTotalSeconds: levels.find((level) => level.extension?.maxTotal !== undefined)?.extension?.maxTotal ?? maxDurationSeconds,
  };
  if (problems.length === problemsBefore && extension.maxTotalSeconds < maxDurationSeconds) {
    report(
      'extension.maxTotal',
      `${formatDuration(extension.maxTotalSeconds)} is shorter than maxDuration (${formatDuration(maxDurationSeconds)}); it caps the total including extensions, so it must be at least as long`,
    );
  }
  if (problems.length === problemsBefore && extension.approvals > 0) reportUnreachableApprovals(report, 'extension.approvals', extension.approvals, approvers);
  if (problems.length > problemsBefore) return undefined;
  const requestChannels = inherited(levels, 'requestChannels') ?? null;
  // The inherited sections' fields (sections.ts) are filled in just below.
  const rule: CoreRoleRule = {
    id: role.id,
    description: role.description ?? null,
    grant: role.grant ?? role.id,
    approvals,
    maxDurationSeconds,
    requireTicket: inherited(levels, 'requireTicket') ?? BUILT_IN.requireTicket,
    ticketPattern: inherited(levels, 'ticketPattern') ?? null,
    // Copies, so a caller changing one role cannot change its siblings.
    approvers: [...approvers],
    requesters: [...(inherited(levels, 'requesters') ?? BUILT_IN.requesters)],
    remindBeforeSeconds: inherited(levels, 'remindBefore') ?? BUILT_IN.remindBeforeSeconds,
    extension,
    requestChannels: requestChannels === null ? null : [...requestChannels],
  };
  for (const [key, section] of Object.entries(INHERITED_SECTIONS) as [string, InheritedSection][]) {
    const values = levels.map((level) => (level as Record<string, unknown>)[key]);
    const resolved = section.resolve ? section.resolve(values, { role: rule, report }) : first(values);
    (rule as unknown as Record<string, unknown>)[key] = resolved;
  }
  return problems.length > problemsBefore ? undefined : (rule as RoleRule);
}

/** With only named people (no groups) as approvers, fewer people than required approvals can never approve. */
function reportUnreachableApprovals(report: (at: string, message: string) => void, at: string, approvals: number, approvers: readonly string[]): void {
  const namesOnlyUsers = approvers.every((principal) => SLACK_USER_PATTERN.test(principal));
  if (!namesOnlyUsers || approvers.length >= approvals) return;
  const people = approvers.length === 1 ? '1 approver is' : `${approvers.length} approvers are`;
  report(
    at,
    `needs ${approvals} approvals but only ${people} listed (${approvers.join(', ')}), so a request could never be approved; ` +
      'add approvers or a user group (S…), or lower approvals',
  );
}

function reportDuplicateIds(items: readonly { id: string }[], listPath: string, problems: Problems): void {
  const firstIndexById = new Map<string, number>();
  items.forEach((item, index) => {
    const firstIndex = firstIndexById.get(item.id);
    if (firstIndex === undefined) firstIndexById.set(item.id, index);
    else problems.push(`${listPath}[${index}].id: duplicate id "${item.id}" (already used by ${listPath}[${firstIndex}])`);
  });
}
