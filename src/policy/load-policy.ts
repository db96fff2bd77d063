import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { formatDuration, parseDuration } from '../domain/duration';
import { COMMAND_PLACEHOLDERS, unknownPlaceholders } from '../providers/command-provider';
import type { ProviderConfig } from '../providers/types';
import type { Policy, ResourceRule, RevokeAlertSettings, RoleRule } from './types';

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
// Checking primitives. Each reader reports what is wrong at `path` and returns undefined, so checking continues and
// every problem in the file is collected.

interface Checker {
  env: NodeJS.ProcessEnv;
  problems: string[];
}

function report(checker: Checker, path: string, message: string): undefined {
  checker.problems.push(path === '' ? message : `${path}: ${message}`);
  return undefined;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const SLACK_PRINCIPAL_PATTERN = /^[UWS][A-Z0-9]+$/;
const SLACK_USER_PATTERN = /^[UW][A-Z0-9]+$/;
const DURATION_HINT = 'use 45s, 30m, 2h or 1d';

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** How a value reads in a message. Never used for URLs or secrets. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function readMapping(checker: Checker, value: unknown, path: string, allowedKeys: readonly string[]): Record<string, unknown> | undefined {
  if (!isMapping(value)) return report(checker, path, `expected a mapping (key: value), got ${describeValue(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowedKeys.includes(key)) report(checker, childPath(path, key), unknownKeyMessage(key, allowedKeys));
  }
  return value;
}

function unknownKeyMessage(key: string, allowedKeys: readonly string[]): string {
  const suggestion = allowedKeys.find((allowed) => isLikelyTypo(key, allowed));
  const hint = suggestion ? `did you mean "${suggestion}"?` : `allowed keys: ${allowedKeys.join(', ')}`;
  return `unknown key (${hint})`;
}

function isLikelyTypo(typed: string, intended: string): boolean {
  return typed.toLowerCase() === intended.toLowerCase() || editDistance(typed, intended) <= 2;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

function readList(checker: Checker, value: unknown, path: string): unknown[] | undefined {
  if (!Array.isArray(value)) return report(checker, path, `expected a list, got ${describeValue(value)}`);
  return value;
}

/** Non-empty text with ${VAR} references replaced from the environment. */
function readText(checker: Checker, value: unknown, path: string, options: { sensitive?: boolean } = {}): string | undefined {
  if (typeof value !== 'string') {
    const shown = options.sensitive ? 'something else' : describeValue(value);
    return report(checker, path, `expected text, got ${shown}`);
  }
  const text = interpolate(checker, value, path);
  if (text === undefined) return undefined;
  if (text.trim() === '') return report(checker, path, 'must not be empty');
  return text;
}

const REFERENCE_PATTERN = /\$\$\{|\$\{([^}]*)(\})?/g;
const VARIABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replaces ${VAR} with the environment's value; `$${` stands for a literal `${`. Unset or empty variables are
 * errors: a secret that silently becomes "" would break access at the worst moment. */
function interpolate(checker: Checker, text: string, path: string): string | undefined {
  const problemsBefore = checker.problems.length;
  const result = text.replace(REFERENCE_PATTERN, (reference: string, name: string | undefined, closing?: string) => {
    if (reference === '$${') return '${';
    if (closing === undefined) {
      report(checker, path, 'unterminated ${ (write ${NAME}, or $${ for a literal ${)');
      return '';
    }
    if (!VARIABLE_NAME_PATTERN.test(name ?? '')) {
      report(checker, path, `${reference} is not a valid environment variable reference`);
      return '';
    }
    const variable = name as string;
    const variableValue = checker.env[variable];
    if (variableValue === undefined) report(checker, path, `environment variable ${variable} is not set (referenced as ${reference})`);
    else if (variableValue === '') report(checker, path, `environment variable ${variable} is empty (referenced as ${reference})`);
    return variableValue ?? '';
  });
  return checker.problems.length === problemsBefore ? result : undefined;
}

function readId(checker: Checker, value: unknown, path: string): string | undefined {
  const id = readText(checker, value, path);
  if (id === undefined) return undefined;
  if (!ID_PATTERN.test(id)) {
    return report(checker, path, `${describeValue(id)} is not a valid id (lowercase letters, digits, "-" and "_", starting with a letter or digit)`);
  }
  return id;
}

function readDuration(checker: Checker, value: unknown, path: string): number | undefined {
  const seconds = typeof value === 'string' ? parseDuration(value) : null;
  if (seconds === null) {
    const unitHint = typeof value === 'number' ? '; add a unit' : '';
    return report(checker, path, `${describeValue(value)} is not a duration (${DURATION_HINT}${unitHint}, at most 365d)`);
  }
  return seconds;
}

function readPositiveInteger(checker: Checker, value: unknown, path: string): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    return report(checker, path, `${describeValue(value)} is not a whole number of at least 1`);
  }
  return value;
}

function readWholeNumber(checker: Checker, value: unknown, path: string): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    return report(checker, path, `${describeValue(value)} is not a whole number of at least 0`);
  }
  return value;
}

function readBoolean(checker: Checker, value: unknown, path: string): boolean | undefined {
  if (typeof value !== 'boolean') return report(checker, path, `expected true or false, got ${describeValue(value)}`);
  return value;
}

/** `null` clears a pattern inherited from the resource or defaults. */
function readTicketPattern(checker: Checker, value: unknown, path: string): RegExp | null | undefined {
  if (value === null) return null;
  const source = readText(checker, value, path);
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (error) {
    return report(checker, path, `${describeValue(source)} is not a valid regular expression (${(error as Error).message})`);
  }
}

function readPrincipals(checker: Checker, value: unknown, path: string, options: { allowEveryone: boolean; allowGroups: boolean; allowEmpty?: boolean }): string[] | undefined {
  const entries = readList(checker, value, path);
  if (entries === undefined) return undefined;
  const principals: string[] = [];
  entries.forEach((entry, index) => {
    const principal = readPrincipal(checker, entry, childPath(path, index), options);
    if (principal === undefined) return;
    if (principals.includes(principal)) report(checker, childPath(path, index), `${principal} is listed twice`);
    else principals.push(principal);
  });
  if (entries.length === 0 && !options.allowEmpty) return report(checker, path, 'must not be empty');
  return principals;
}

function readPrincipal(checker: Checker, value: unknown, path: string, options: { allowEveryone: boolean; allowGroups: boolean }): string | undefined {
  if (value === '*') {
    if (options.allowEveryone) return value;
    return report(checker, path, '"*" is not allowed here; name the people (U…) or user groups (S…)');
  }
  const pattern = options.allowGroups ? SLACK_PRINCIPAL_PATTERN : SLACK_USER_PATTERN;
  if (typeof value !== 'string' || !pattern.test(value)) {
    const expected = options.allowGroups ? 'a Slack user id (U…/W…) or user-group id (S…)' : 'a Slack user id (U…/W…)';
    const everyone = options.allowEveryone ? ', or "*" for everyone' : '';
    return report(checker, path, `${describeValue(value)} is not ${expected}${everyone}`);
  }
  return value;
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
};
const DEFAULT_REQUEST_TTL_SECONDS = 3_600;
const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;

const SETTING_KEYS = ['approvals', 'maxDuration', 'requireTicket', 'ticketPattern', 'approvers', 'requesters', 'remindBefore', 'extension'] as const;
const EXTENSION_KEYS = ['approvals', 'maxTotal'];
const TOP_LEVEL_KEYS = ['defaults', 'identities', 'admins', 'alerts', 'resources'];
const ALERT_KEYS = ['securityChannel', 'afterFailedRevokes'];
const DEFAULT_ALERT_AFTER_FAILURES = 3;
const SLACK_CHANNEL_PATTERN = /^[CG][A-Z0-9]+$/;
const DEFAULTS_KEYS = [...SETTING_KEYS, 'requestTtl'];
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
  const identities = top.identities === undefined ? new Map<string, string>() : readIdentities(checker, top.identities);
  const admins = top.admins === undefined ? [] : readPrincipals(checker, top.admins, 'admins', { allowEveryone: false, allowGroups: false, allowEmpty: true });
  const revokeAlerts = readRevokeAlerts(checker, top.alerts);
  const resources = readResources(checker, top.resources, settings);
  if (requestTtlSeconds === undefined || !identities || !admins || !revokeAlerts || !resources) return undefined;
  return { sourcePath, identities, resources, admins, requestTtlSeconds, revokeAlerts };
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
      report(checker, 'alerts.securityChannel', `${describeValue(channel)} is not a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")`);
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
  return settings;
}

/** Overrides only what was given and valid; invalid values were already reported. */
function applySettings(base: Settings, overrides: Partial<Settings>): Settings {
  const given = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return { ...base, ...Object.fromEntries(given) };
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

const PROVIDER_KEYS: Record<ProviderConfig['type'], readonly string[]> = {
  postgres: ['type', 'url', 'mode'],
  webhook: ['type', 'url', 'secret', 'timeout'],
  command: ['type', 'grant', 'revoke', 'verify', 'extend', 'timeout', 'env'],
};

function isProviderType(value: unknown): value is ProviderConfig['type'] {
  return typeof value === 'string' && Object.hasOwn(PROVIDER_KEYS, value);
}

function readProvider(checker: Checker, value: unknown, path: string): ProviderConfig | undefined {
  if (value === undefined) return report(checker, path, 'missing; e.g. { type: postgres, url: "${ADMIN_URL}" }');
  if (!isMapping(value)) return report(checker, path, `expected a mapping with a type, got ${describeValue(value)}`);
  const typePath = childPath(path, 'type');
  const types = Object.keys(PROVIDER_KEYS);
  const knownTypes = `${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}`;
  if (value.type === undefined) return report(checker, typePath, `missing; use ${knownTypes}`);
  if (!isProviderType(value.type)) return report(checker, typePath, `${describeValue(value.type)} is not a provider type (use ${knownTypes})`);
  const map = readMapping(checker, value, path, PROVIDER_KEYS[value.type]);
  if (!map) return undefined;
  switch (value.type) {
    case 'postgres':
      return readPostgresProvider(checker, map, path);
    case 'webhook':
      return readWebhookProvider(checker, map, path);
    case 'command':
      return readCommandProvider(checker, map, path);
  }
}

const DEFAULT_COMMAND_TIMEOUT_SECONDS = 30;
/** The provider sets these itself (request details, reason, ticket); the policy must not shadow them. */
const RESERVED_COMMAND_ENV_PREFIX = 'BREAKGLASS_';

function readCommandProvider(checker: Checker, map: Record<string, unknown>, path: string): ProviderConfig | undefined {
  const at = (key: string) => childPath(path, key);
  const grant = map.grant === undefined ? report(checker, at('grant'), 'missing') : readCommandLine(checker, map.grant, at('grant'));
  const revoke = map.revoke === undefined ? report(checker, at('revoke'), 'missing') : readCommandLine(checker, map.revoke, at('revoke'));
  const verify = map.verify === undefined || map.verify === null ? null : readCommandLine(checker, map.verify, at('verify'));
  const extend = map.extend === undefined || map.extend === null ? null : readCommandLine(checker, map.extend, at('extend'));
  const timeoutSeconds = map.timeout === undefined ? DEFAULT_COMMAND_TIMEOUT_SECONDS : readProviderTimeout(checker, map.timeout, at('timeout'));
  const env = map.env === undefined ? {} : readCommandEnvironment(checker, map.env, at('env'));
  if (!grant || !revoke || verify === undefined || extend === undefined || timeoutSeconds === undefined || !env) return undefined;
  return { type: 'command', grant, revoke, verify, extend, timeoutMs: timeoutSeconds * 1000, env };
}

/** The executable, then its arguments; each entry may use ${VAR} and the provider's {placeholders}. */
function readCommandLine(checker: Checker, value: unknown, path: string): string[] | undefined {
  const entries = readList(checker, value, path);
  if (entries === undefined) return undefined;
  if (entries.length === 0) return report(checker, path, 'must not be empty; give the executable, then its arguments');
  const problemsBefore = checker.problems.length;
  const argv: string[] = [];
  entries.forEach((entry, index) => {
    const entryPath = childPath(path, index);
    const text = readText(checker, entry, entryPath);
    if (text === undefined) return;
    argv.push(text);
    // Checked on what was written, not on ${VAR} values: an unknown {name} in those stays literal.
    for (const name of unknownPlaceholders((entry as string).replace(REFERENCE_PATTERN, ''))) {
      const allowed = COMMAND_PLACEHOLDERS.map((placeholder) => `{${placeholder}}`);
      report(checker, entryPath, `{${name}} is not a placeholder (use ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]})`);
    }
  });
  return checker.problems.length === problemsBefore ? argv : undefined;
}

/** Extra variables for the command. Values often hold secrets, so problems never repeat them. */
function readCommandEnvironment(checker: Checker, value: unknown, path: string): Record<string, string> | undefined {
  if (!isMapping(value)) return report(checker, path, 'expected a mapping of variable names to text');
  const problemsBefore = checker.problems.length;
  const env: Record<string, string> = {};
  for (const [name, variableValue] of Object.entries(value)) {
    const variablePath = childPath(path, name);
    if (!VARIABLE_NAME_PATTERN.test(name)) {
      report(checker, variablePath, 'is not a valid environment variable name (letters, digits and "_", not starting with a digit)');
    } else if (name.startsWith(RESERVED_COMMAND_ENV_PREFIX)) {
      report(checker, variablePath, `names starting with ${RESERVED_COMMAND_ENV_PREFIX} are set by Breakglass itself`);
    }
    const text = readText(checker, variableValue, variablePath, { sensitive: true });
    if (text !== undefined) env[name] = text;
  }
  return checker.problems.length === problemsBefore ? env : undefined;
}

const POSTGRES_MODES = ['membership', 'temporary-login'] as const;

function readPostgresProvider(checker: Checker, map: Record<string, unknown>, path: string): ProviderConfig | undefined {
  const url = readUrl(checker, map.url, childPath(path, 'url'), ['postgres:', 'postgresql:']);
  const mode = map.mode === undefined ? 'membership' : readPostgresMode(checker, map.mode, childPath(path, 'mode'));
  if (url === undefined || mode === undefined) return undefined;
  return { type: 'postgres', url, mode };
}

function readPostgresMode(checker: Checker, value: unknown, path: string): (typeof POSTGRES_MODES)[number] | undefined {
  const mode = POSTGRES_MODES.find((known) => known === value);
  if (mode === undefined) return report(checker, path, `${describeValue(value)} is not a postgres mode (use membership or temporary-login)`);
  return mode;
}

function readWebhookProvider(checker: Checker, map: Record<string, unknown>, path: string): ProviderConfig | undefined {
  const url = readUrl(checker, map.url, childPath(path, 'url'), ['http:', 'https:']);
  const secretPath = childPath(path, 'secret');
  const secret = map.secret === undefined ? report(checker, secretPath, 'missing') : readText(checker, map.secret, secretPath, { sensitive: true });
  const timeoutSeconds = map.timeout === undefined ? DEFAULT_WEBHOOK_TIMEOUT_SECONDS : readProviderTimeout(checker, map.timeout, childPath(path, 'timeout'));
  if (url === undefined || secret === undefined || timeoutSeconds === undefined) return undefined;
  return { type: 'webhook', url, secret, timeoutMs: timeoutSeconds * 1000 };
}

/** A grant (call plus verify) must finish well within the two minutes after which an unfinished grant counts as
 * interrupted by a stop and is rolled back (AccessService.INTERRUPTED_GRANT_MS). */
const MAX_PROVIDER_TIMEOUT_SECONDS = 60;

function readProviderTimeout(checker: Checker, value: unknown, path: string): number | undefined {
  const seconds = readDuration(checker, value, path);
  if (seconds !== undefined && seconds > MAX_PROVIDER_TIMEOUT_SECONDS) {
    return report(checker, path, `${describeValue(value)} is too long: at most 60s, so a grant that hangs is rolled back rather than taken for a live one`);
  }
  return seconds;
}

/** URLs often carry credentials, so messages never repeat the value. */
function readUrl(checker: Checker, value: unknown, path: string, protocols: readonly string[]): string | undefined {
  if (value === undefined) return report(checker, path, 'missing');
  const text = readText(checker, value, path, { sensitive: true });
  if (text === undefined) return undefined;
  const expected = protocols.map((protocol) => `${protocol}//`).join(' or ');
  if (!URL.canParse(text) || !protocols.includes(new URL(text).protocol)) {
    return report(checker, path, `is not a valid ${expected} URL`);
  }
  return text;
}
