import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { formatDuration } from '../domain/duration';
import {
  type Checker,
  childPath,
  describeValue,
  isMapping,
  readBoolean,
  readDuration,
  readList,
  readMapping,
  readPositiveInteger,
  readPrincipals,
  readText,
  readTicketPattern,
  readWholeNumber,
  readId,
  report,
  SLACK_USER_PATTERN,
} from './check-primitives';
import { readProvider } from './read-provider';
import { mergeEmergency, type EmergencyLevel } from './emergency-schema';
import { readEmergency, resolveEmergency } from './read-emergency';
import type { AuditSettings, Policy, ResourceRule, RevokeAlertSettings, RoleRule } from './types';

/** The policy file cannot be used. The message names the file, the path inside it and what is wrong, one problem
 * per line, so an operator can fix everything in one pass. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';

  constructor(
    readonly sourcePath: string,
    /** One line per problem, each starting with the file name. */
    readonly problems: readonly string[],
  ) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super([`Invalid breakglass policy ${sourcePath} (${count}):`, ...problems].join('\n'));
  }
}

export function loadPolicy(filePath: string, env: NodeJS.ProcessEnv = process.env): Policy {
  let yamlText: string;
  try {
    yamlText = readFileSync(filePath, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new PolicyError(filePath, [`${filePath}: cannot read the policy file (${reason})`]);
  }
  return parsePolicy(yamlText, filePath, env);
}

export function parsePolicy(yamlText: string, sourcePath: string, env: NodeJS.ProcessEnv = process.env): Policy {
  const document = parseDocument(yamlText, { uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new PolicyError(
      sourcePath,
      document.errors.map((error) => `${sourcePath}:${describeYamlError(error)}`),
    );
  }
  let root: unknown;
  try {
    root = document.toJS();
  } catch (error) {
    // e.g. too many aliases (a "billion laughs" file).
    throw new PolicyError(sourcePath, [`${sourcePath}: ${(error as Error).message}`]);
  }
  const checker: Checker = { env, problems: [] };
  const policy = readPolicy(checker, root, sourcePath);
  if (checker.problems.length > 0 || !policy) {
    throw new PolicyError(
      sourcePath,
      checker.problems.map((problem) => `${sourcePath}: ${problem}`),
    );
  }
  return policy;
}

function describeYamlError(error: { message: string; linePos?: readonly { line: number; col: number }[] }): string {
  // The library appends " at line L, column C:" and a code snippet; we put the position first, compiler-style.
  const firstLine = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  const position = error.linePos?.[0];
  return position ? `${position.line}:${position.col}: YAML syntax error: ${firstLine}` : ` YAML syntax error: ${firstLine}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The policy structure. Settings resolve role → resource → defaults → built-in.

interface Settings {
  approvals: number;
  maxDurationSeconds: number;
  requireTicket: boolean;
  ticketPattern: RegExp | null;
  /** Undefined until some level names approvers; a role without any is an error. */
  approvers: string[] | undefined;
  requesters: string[];
  remindBeforeSeconds: number;
  /** Undefined until some level sets it: then the role's own approvals / maxDuration apply. */
  extensionApprovals: number | undefined;
  extensionMaxTotalSeconds: number | undefined;
  /** null: anywhere. */
  requestChannels: string[] | null;
  /** Merged key by key across the levels (see emergency-schema); null: none given. */
  emergency: EmergencyLevel | null;
}

const BUILT_IN_SETTINGS: Settings = {
  approvals: 1,
  maxDurationSeconds: 3_600,
  requireTicket: false,
  ticketPattern: null,
  approvers: undefined,
  requesters: ['*'],
  remindBeforeSeconds: 600,
  extensionApprovals: undefined,
  extensionMaxTotalSeconds: undefined,
  requestChannels: null,
  emergency: null,
};
const DEFAULT_REQUEST_TTL_SECONDS = 3_600;
const DEFAULT_REQUESTS_PER_HOUR = 10;

const SETTING_KEYS = [
  'approvals',
  'maxDuration',
  'requireTicket',
  'ticketPattern',
  'approvers',
  'requesters',
  'remindBefore',
  'extension',
  'requestChannels',
  'emergency',
] as const;
const EXTENSION_KEYS = ['approvals', 'maxTotal'];
const TOP_LEVEL_KEYS = ['defaults', 'identities', 'loginEmailDomains', 'admins', 'alerts', 'audit', 'resources'];
const AUDIT_KEYS = ['publishHead'];
const ALERT_KEYS = ['securityChannel', 'afterFailedRevokes'];
const DEFAULT_ALERT_AFTER_FAILURES = 3;
const SLACK_CHANNEL_PATTERN = /^[CG][A-Z0-9]+$/;
const DEFAULTS_KEYS = [...SETTING_KEYS, 'requestTtl', 'requestsPerHour'];
/** A domain name, lower case: labels of letters, digits and inner hyphens, at least two of them. */
const EMAIL_DOMAIN_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const RESOURCE_KEYS = ['id', 'description', 'provider', 'roles', ...SETTING_KEYS];
const ROLE_KEYS = ['id', 'description', 'grant', ...SETTING_KEYS];

function readPolicy(checker: Checker, root: unknown, sourcePath: string): Policy | undefined {
  if (root === null || root === undefined) {
    return report(checker, '', 'the file is empty; it needs at least a "resources" list');
  }
  const top = readMapping(checker, root, '', TOP_LEVEL_KEYS);
  if (!top) return undefined;
  const defaults = top.defaults === undefined ? {} : (readMapping(checker, top.defaults, 'defaults', DEFAULTS_KEYS) ?? {});
  const settings = applySettings(BUILT_IN_SETTINGS, readSettings(checker, defaults, 'defaults'));
  const requestTtlSeconds = defaults.requestTtl === undefined ? DEFAULT_REQUEST_TTL_SECONDS : readDuration(checker, defaults.requestTtl, 'defaults.requestTtl');
  const requestsPerHour = defaults.requestsPerHour === undefined ? DEFAULT_REQUESTS_PER_HOUR : readPositiveInteger(checker, defaults.requestsPerHour, 'defaults.requestsPerHour');
  const identities = top.identities === undefined ? new Map<string, string>() : readIdentities(checker, top.identities);
  const loginEmailDomains = top.loginEmailDomains === undefined ? [] : readEmailDomains(checker, top.loginEmailDomains);
  const admins = top.admins === undefined ? [] : readPrincipals(checker, top.admins, 'admins', { allowEveryone: false, allowGroups: false, allowEmpty: true });
  const revokeAlerts = readRevokeAlerts(checker, top.alerts);
  const audit = readAudit(checker, top.audit);
  const resources = readResources(checker, top.resources, settings);
  if (requestTtlSeconds === undefined || requestsPerHour === undefined || !identities || !loginEmailDomains || !admins || !revokeAlerts || !audit || !resources) return undefined;
  return { sourcePath, identities, loginEmailDomains, requestsPerHour, resources, admins, requestTtlSeconds, revokeAlerts, audit };
}

function readAudit(checker: Checker, value: unknown): AuditSettings | undefined {
  const settings: AuditSettings = { publishHeadFile: null };
  if (value === undefined || value === null) return settings;
  const map = readMapping(checker, value, 'audit', AUDIT_KEYS);
  if (!map) return undefined;
  if (map.publishHead === undefined || map.publishHead === null) return settings;
  const file = readText(checker, map.publishHead, 'audit.publishHead');
  if (file === undefined) return undefined;
  if (!path.isAbsolute(file))
    return report(checker, 'audit.publishHead', `${describeValue(file)} is not an absolute path (the file the published audit chain heads are appended to)`);
  settings.publishHeadFile = file;
  return settings;
}

function readRevokeAlerts(checker: Checker, value: unknown): RevokeAlertSettings | undefined {
  const settings: RevokeAlertSettings = { afterFailures: DEFAULT_ALERT_AFTER_FAILURES, securityChannel: null };
  if (value === undefined) return settings;
  const map = readMapping(checker, value, 'alerts', ALERT_KEYS);
  if (!map) return undefined;
  const problemsBefore = checker.problems.length;
  if (map.afterFailedRevokes !== undefined) {
    settings.afterFailures = readPositiveInteger(checker, map.afterFailedRevokes, 'alerts.afterFailedRevokes') ?? settings.afterFailures;
  }
  if (map.securityChannel !== undefined && map.securityChannel !== null) {
    const channel = readText(checker, map.securityChannel, 'alerts.securityChannel');
    if (channel !== undefined && !SLACK_CHANNEL_PATTERN.test(channel)) {
      report(checker, 'alerts.securityChannel', notAChannelId(channel));
    } else if (channel !== undefined) {
      settings.securityChannel = channel;
    }
  }
  return checker.problems.length === problemsBefore ? settings : undefined;
}

function readSettings(checker: Checker, map: Record<string, unknown>, path: string): Partial<Settings> {
  const settings: Partial<Settings> = {};
  const at = (key: string) => childPath(path, key);
  if (map.approvals !== undefined) settings.approvals = readPositiveInteger(checker, map.approvals, at('approvals'));
  if (map.maxDuration !== undefined) settings.maxDurationSeconds = readDuration(checker, map.maxDuration, at('maxDuration'));
  if (map.requireTicket !== undefined) settings.requireTicket = readBoolean(checker, map.requireTicket, at('requireTicket'));
  if (map.ticketPattern !== undefined) settings.ticketPattern = readTicketPattern(checker, map.ticketPattern, at('ticketPattern'));
  if (map.approvers !== undefined) {
    settings.approvers = readPrincipals(checker, map.approvers, at('approvers'), { allowEveryone: false, allowGroups: true });
  }
  if (map.requesters !== undefined) {
    settings.requesters = readPrincipals(checker, map.requesters, at('requesters'), { allowEveryone: true, allowGroups: true });
  }
  if (map.remindBefore !== undefined) settings.remindBeforeSeconds = readDuration(checker, map.remindBefore, at('remindBefore'));
  if (map.extension !== undefined) {
    const extension = readMapping(checker, map.extension, at('extension'), EXTENSION_KEYS);
    if (extension?.approvals !== undefined) {
      settings.extensionApprovals = readWholeNumber(checker, extension.approvals, childPath(at('extension'), 'approvals'));
    }
    if (extension?.maxTotal !== undefined) {
      settings.extensionMaxTotalSeconds = readDuration(checker, extension.maxTotal, childPath(at('extension'), 'maxTotal'));
    }
  }
  if (map.requestChannels !== undefined) settings.requestChannels = readRequestChannels(checker, map.requestChannels, at('requestChannels'));
  if (map.emergency !== undefined) settings.emergency = readEmergency(checker, map.emergency, at('emergency'));
  return settings;
}

function notAChannelId(value: string): string {
  return `${describeValue(value)} is not a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")`;
}

/** Channel ids requests may be posted in; null turns an inherited list off (anywhere again). */
function readRequestChannels(checker: Checker, value: unknown, path: string): string[] | null | undefined {
  if (value === null) return null;
  const entries = readList(checker, value, path);
  if (entries === undefined) return undefined;
  if (entries.length === 0) return report(checker, path, 'must list at least one channel id; leave it out (or write null) to allow any channel');
  const problemsBefore = checker.problems.length;
  const channels: string[] = [];
  entries.forEach((entry, index) => {
    const channel = readText(checker, entry, childPath(path, index));
    if (channel === undefined) return;
    if (!SLACK_CHANNEL_PATTERN.test(channel)) report(checker, childPath(path, index), notAChannelId(channel));
    else if (channels.includes(channel)) report(checker, childPath(path, index), `${describeValue(channel)} is listed twice`);
    else channels.push(channel);
  });
  return checker.problems.length === problemsBefore ? channels : undefined;
}

function readEmailDomains(checker: Checker, value: unknown): string[] | undefined {
  const entries = readList(checker, value, 'loginEmailDomains');
  if (entries === undefined) return undefined;
  const problemsBefore = checker.problems.length;
  const domains: string[] = [];
  entries.forEach((entry, index) => {
    const path = childPath('loginEmailDomains', index);
    const text = readText(checker, entry, path);
    if (text === undefined) return;
    const domain = text.trim().toLowerCase();
    if (!EMAIL_DOMAIN_PATTERN.test(domain)) {
      const hint = domain.includes('@') ? ' (write the domain alone, e.g. example.com, without "@")' : ' (e.g. example.com)';
      report(checker, path, `${describeValue(text)} is not an e-mail domain${hint}`);
    } else if (domains.includes(domain)) {
      report(checker, path, `${describeValue(text)} is listed twice`);
    } else {
      domains.push(domain);
    }
  });
  return checker.problems.length === problemsBefore ? domains : undefined;
}

/** Overrides only what was given and valid; invalid values were already reported. */
function applySettings(base: Settings, overrides: Partial<Settings>): Settings {
  const given = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return { ...base, ...Object.fromEntries(given), emergency: mergeEmergency(base.emergency, overrides.emergency) };
}

function readIdentities(checker: Checker, value: unknown): Map<string, string> | undefined {
  if (!isMapping(value)) return report(checker, 'identities', `expected a mapping of Slack user id to login, got ${describeValue(value)}`);
  const identities = new Map<string, string>();
  for (const [slackId, login] of Object.entries(value)) {
    const path = childPath('identities', slackId);
    if (!SLACK_USER_PATTERN.test(slackId)) report(checker, path, 'is not a Slack user id (U…/W…)');
    const text = readText(checker, login, path);
    if (text !== undefined) identities.set(slackId, text);
  }
  return identities;
}

function readResources(checker: Checker, value: unknown, settings: Settings): ResourceRule[] | undefined {
  if (value === undefined) return report(checker, 'resources', 'missing; list at least one resource');
  const entries = readList(checker, value, 'resources');
  if (entries === undefined) return undefined;
  if (entries.length === 0) return report(checker, 'resources', 'must list at least one resource');
  const resources = entries.map((entry, index) => readResource(checker, entry, childPath('resources', index), settings));
  reportDuplicateIds(checker, resources, 'resources');
  return resources.every((resource) => resource !== undefined) ? resources : undefined;
}

function reportDuplicateIds(checker: Checker, items: readonly ({ id: string } | undefined)[], listPath: string): void {
  const firstIndexById = new Map<string, number>();
  items.forEach((item, index) => {
    if (!item) return;
    const firstIndex = firstIndexById.get(item.id);
    if (firstIndex === undefined) firstIndexById.set(item.id, index);
    else report(checker, `${childPath(listPath, index)}.id`, `duplicate id "${item.id}" (already used by ${childPath(listPath, firstIndex)})`);
  });
}

function readResource(checker: Checker, value: unknown, path: string, inherited: Settings): ResourceRule | undefined {
  const map = readMapping(checker, value, path, RESOURCE_KEYS);
  if (!map) return undefined;
  const id = map.id === undefined ? report(checker, childPath(path, 'id'), 'missing') : readId(checker, map.id, childPath(path, 'id'));
  const description = readOptionalText(checker, map.description, childPath(path, 'description'));
  const provider = readProvider(checker, map.provider, childPath(path, 'provider'));
  const settings = applySettings(inherited, readSettings(checker, map, path));
  const roles = readRoles(checker, map.roles, childPath(path, 'roles'), settings);
  if (id === undefined || description === undefined || !provider || !roles) return undefined;
  return { id, description, provider, roles };
}

/** null when absent; undefined when invalid (already reported). */
function readOptionalText(checker: Checker, value: unknown, path: string): string | null | undefined {
  return value === undefined || value === null ? null : readText(checker, value, path);
}

function readRoles(checker: Checker, value: unknown, path: string, inherited: Settings): RoleRule[] | undefined {
  if (value === undefined) return report(checker, path, 'missing; list at least one role');
  const entries = readList(checker, value, path);
  if (entries === undefined) return undefined;
  if (entries.length === 0) return report(checker, path, 'must list at least one role');
  const roles = entries.map((entry, index) => readRole(checker, entry, childPath(path, index), inherited));
  reportDuplicateIds(checker, roles, path);
  return roles.every((role) => role !== undefined) ? roles : undefined;
}

function readRole(checker: Checker, value: unknown, path: string, inherited: Settings): RoleRule | undefined {
  const problemsBefore = checker.problems.length;
  const map = readMapping(checker, value, path, ROLE_KEYS);
  if (!map) return undefined;
  const id = map.id === undefined ? report(checker, childPath(path, 'id'), 'missing') : readId(checker, map.id, childPath(path, 'id'));
  const description = readOptionalText(checker, map.description, childPath(path, 'description'));
  const grant = map.grant === undefined ? id : readText(checker, map.grant, childPath(path, 'grant'));
  const settings = applySettings(inherited, readSettings(checker, map, path));
  const { approvers } = settings;
  if (approvers === undefined) {
    return report(checker, childPath(path, 'approvers'), 'missing; set approvers on the role, its resource, or in defaults');
  }
  // Only worth checking on an otherwise valid role: an invalid approvals value would make this a false alarm.
  if (checker.problems.length === problemsBefore) reportUnreachableApprovals(checker, path, settings.approvals, approvers);
  const extension = {
    approvals: settings.extensionApprovals ?? settings.approvals,
    maxTotalSeconds: settings.extensionMaxTotalSeconds ?? settings.maxDurationSeconds,
  };
  if (checker.problems.length === problemsBefore && extension.maxTotalSeconds < settings.maxDurationSeconds) {
    report(
      checker,
      childPath(path, 'extension.maxTotal'),
      `${formatDuration(extension.maxTotalSeconds)} is shorter than maxDuration (${formatDuration(settings.maxDurationSeconds)}); it caps the total including extensions, so it must be at least as long`,
    );
  }
  if (checker.problems.length === problemsBefore && extension.approvals > 0) {
    reportUnreachableApprovals(checker, childPath(path, 'extension'), extension.approvals, approvers);
  }
  const emergency = resolveEmergency(checker, path, settings.emergency, settings.maxDurationSeconds);
  if (id === undefined || description === undefined || grant === undefined || checker.problems.length > problemsBefore) {
    return undefined;
  }
  return {
    id,
    description,
    grant,
    approvals: settings.approvals,
    maxDurationSeconds: settings.maxDurationSeconds,
    requireTicket: settings.requireTicket,
    ticketPattern: settings.ticketPattern,
    // Copies, so a caller changing one role cannot change its siblings.
    approvers: [...approvers],
    requesters: [...settings.requesters],
    remindBeforeSeconds: settings.remindBeforeSeconds,
    extension,
    requestChannels: settings.requestChannels === null ? null : [...settings.requestChannels],
    // Absent unless allowed (RoleRule.emergency is optional: hand-built policies have none).
    ...(emergency ? { emergency } : {}),
  };
}

/** With only named people (no groups) as approvers, fewer people than required approvals can never approve. */
function reportUnreachableApprovals(checker: Checker, rolePath: string, approvals: number, approvers: readonly string[]): void {
  const namesOnlyUsers = approvers.every((principal) => SLACK_USER_PATTERN.test(principal));
  if (!namesOnlyUsers || approvers.length >= approvals) return;
  const people = approvers.length === 1 ? '1 approver is' : `${approvers.length} approvers are`;
  report(
    checker,
    childPath(rolePath, 'approvals'),
    `needs ${approvals} approvals but only ${people} listed (${approvers.join(', ')}), so a request could never be approved; ` +
      'add approvers or a user group (S…), or lower approvals',
  );
}
