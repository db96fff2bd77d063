import { COMMAND_PLACEHOLDERS, unknownPlaceholders } from '../providers/command-provider';
import { POSTGRES_LOGIN_ATTRIBUTES, type PostgresLoginAttribute, type ProviderConfig } from '../providers/types';
import {
  type Checker,
  childPath,
  describeValue,
  isMapping,
  REFERENCE_PATTERN,
  readBoolean,
  readDuration,
  readList,
  readMapping,
  readText,
  report,
  VARIABLE_NAME_PATTERN,
} from './check-primitives';

// ---------------------------------------------------------------------------------------------------------------
// Providers: how a resource's access is granted and revoked.

const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;

const PROVIDER_KEYS: Record<ProviderConfig['type'], readonly string[]> = {
  postgres: ['type', 'url', 'mode', 'allowLoginAttributes'],
  webhook: ['type', 'url', 'secret', 'timeout', 'legacySignature'],
  command: ['type', 'grant', 'revoke', 'verify', 'extend', 'timeout', 'env'],
};

function isProviderType(value: unknown): value is ProviderConfig['type'] {
  return typeof value === 'string' && Object.hasOwn(PROVIDER_KEYS, value);
}

export function readProvider(checker: Checker, value: unknown, path: string): ProviderConfig | undefined {
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
  const allowLoginAttributes = map.allowLoginAttributes === undefined ? [] : readLoginAttributes(checker, map.allowLoginAttributes, childPath(path, 'allowLoginAttributes'));
  if (url === undefined || mode === undefined || allowLoginAttributes === undefined) return undefined;
  return { type: 'postgres', url, mode, allowLoginAttributes };
}

function readLoginAttributes(checker: Checker, value: unknown, path: string): PostgresLoginAttribute[] | undefined {
  const entries = readList(checker, value, path);
  if (entries === undefined) return undefined;
  const problemsBefore = checker.problems.length;
  const attributes: PostgresLoginAttribute[] = [];
  entries.forEach((entry, index) => {
    const attribute = POSTGRES_LOGIN_ATTRIBUTES.find((known) => known === entry);
    if (attribute === undefined) {
      report(checker, childPath(path, index), `${describeValue(entry)} is not a login attribute the provider checks (use superuser, createrole or bypassrls)`);
    } else if (!attributes.includes(attribute)) {
      attributes.push(attribute);
    }
  });
  return checker.problems.length === problemsBefore ? attributes : undefined;
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
  const legacySignature = map.legacySignature === undefined ? false : readBoolean(checker, map.legacySignature, childPath(path, 'legacySignature'));
  if (url === undefined || secret === undefined || timeoutSeconds === undefined || legacySignature === undefined) return undefined;
  return { type: 'webhook', url, secret, timeoutMs: timeoutSeconds * 1000, legacySignature };
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
