import { z } from 'zod';
import { COMMAND_PLACEHOLDERS, unknownPlaceholders } from '../providers/command-provider';
import { POSTGRES_LOGIN_ATTRIBUTES, type PostgresLoginAttribute, type ProviderConfig } from '../providers/types';
import { describeValue, duration, list, mapping, REFERENCE_PATTERN, text, VARIABLE_NAME_PATTERN, yesNo } from './schema-primitives';

// ---------------------------------------------------------------------------------------------------------------
// Providers: how a resource's access is granted and revoked. The schema reads what is written; toProviderConfig
// fills in the defaults.

const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;
const DEFAULT_COMMAND_TIMEOUT_SECONDS = 30;
/** A grant (call plus verify) must finish well within the two minutes after which an unfinished grant counts as
 * interrupted by a stop and is rolled back (AccessService.INTERRUPTED_GRANT_MS). */
const MAX_PROVIDER_TIMEOUT_SECONDS = 60;
/** The provider sets these itself (request details, reason, ticket); the policy must not shadow them. */
const RESERVED_COMMAND_ENV_PREFIX = 'BREAKGLASS_';
const POSTGRES_MODES = ['membership', 'temporary-login'] as const;

const providerTimeout = () =>
  duration({
    seconds: MAX_PROVIDER_TIMEOUT_SECONDS,
    message: (value) => `${describeValue(value)} is too long: at most 60s, so a grant that hangs is rolled back rather than taken for a live one`,
  });

/** URLs often carry credentials, so messages never repeat the value. */
const url = (protocols: readonly string[]) => {
  const expected = protocols.map((protocol) => `${protocol}//`).join(' or ');
  return text({
    sensitive: true,
    missing: 'missing',
    check: (value, report) => {
      if (URL.canParse(value) && protocols.includes(new URL(value).protocol)) return value;
      report(`is not a valid ${expected} URL`);
    },
  }).meta({ description: `A ${expected} URL; use \${VAR} for one that holds a password` });
};

const allowed = COMMAND_PLACEHOLDERS.map((placeholder) => `{${placeholder}}`);
const PLACEHOLDER_LIST = `${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`;

/** The executable, then its arguments; each entry may use ${VAR} and the provider's {placeholders}. */
const commandLine = (missing?: string) =>
  z
    .array(
      text({
        check: (value, report, written) => {
          // Checked on what was written, not on ${VAR} values: an unknown {name} in those stays literal.
          const unknown = unknownPlaceholders(written.replace(REFERENCE_PATTERN, ''));
          for (const name of unknown) report(`{${name}} is not a placeholder (use ${PLACEHOLDER_LIST})`);
          return unknown.length === 0 ? value : undefined;
        },
      }),
      { error: (issue) => (issue.input === undefined && missing ? missing : `expected a list, got ${describeValue(issue.input)}`) },
    )
    .min(1, { error: 'must not be empty; give the executable, then its arguments' })
    .meta({ description: `The executable and its arguments (no shell); entries may use \${VAR} and ${PLACEHOLDER_LIST}` });

/** Extra variables for the command. Values often hold secrets, so problems never repeat them. */
const commandEnvironment = () =>
  z
    .record(
      z
        .string()
        .regex(VARIABLE_NAME_PATTERN, { error: 'is not a valid environment variable name (letters, digits and "_", not starting with a digit)', abort: true })
        .refine((name) => !name.startsWith(RESERVED_COMMAND_ENV_PREFIX), { error: `names starting with ${RESERVED_COMMAND_ENV_PREFIX} are set by Breakglass itself` }),
      text({ sensitive: true }),
      { error: 'expected a mapping of variable names to text' },
    )
    .meta({ description: 'Extra environment variables for the command (values may use ${VAR})' });

const postgresProvider = mapping({
  type: z.literal('postgres'),
  url: url(['postgres:', 'postgresql:']),
  mode: z
    .enum(POSTGRES_MODES, { error: (issue) => `${describeValue(issue.input)} is not a postgres mode (use membership or temporary-login)` })
    .optional()
    .meta({ description: 'membership (default): grant role membership to the login; temporary-login: create a login for the grant' }),
  allowLoginAttributes: list(
    z.enum(POSTGRES_LOGIN_ATTRIBUTES, {
      error: (issue) => `${describeValue(issue.input)} is not a login attribute the provider checks (use superuser, createrole or bypassrls)`,
    }),
  )
    .optional()
    .meta({ description: 'Role attributes the login and the granted role may have; none by default' }),
});

const webhookProvider = mapping({
  type: z.literal('webhook'),
  url: url(['http:', 'https:']),
  secret: text({ sensitive: true, missing: 'missing' }).meta({ description: 'Signing secret; use ${VAR}' }),
  timeout: providerTimeout()
    .optional()
    .meta({ description: `At most 60s; default ${DEFAULT_WEBHOOK_TIMEOUT_SECONDS}s` }),
  legacySignature: yesNo().optional().meta({ description: 'Sign the old way for receivers not upgraded yet; default false' }),
});

const commandProvider = mapping({
  type: z.literal('command'),
  grant: commandLine('missing'),
  revoke: commandLine('missing'),
  verify: commandLine().nullable().optional(),
  extend: commandLine().nullable().optional(),
  timeout: providerTimeout()
    .optional()
    .meta({ description: `At most 60s; default ${DEFAULT_COMMAND_TIMEOUT_SECONDS}s` }),
  env: commandEnvironment().optional(),
});

const PROVIDER_TYPES = ['postgres', 'webhook', 'command'];
const KNOWN_TYPES = `${PROVIDER_TYPES.slice(0, -1).join(', ')} or ${PROVIDER_TYPES[PROVIDER_TYPES.length - 1]}`;

export const providerSchema = z
  .discriminatedUnion('type', [postgresProvider, webhookProvider, commandProvider], {
    error: (issue) => {
      const value = issue.input;
      if (value === undefined) return 'missing; e.g. { type: postgres, url: "${ADMIN_URL}" }';
      if (issue.code !== 'invalid_union') return `expected a mapping with a type, got ${describeValue(value)}`;
      const type = (value as Record<string, unknown>).type;
      return type === undefined ? `missing; use ${KNOWN_TYPES}` : `${describeValue(type)} is not a provider type (use ${KNOWN_TYPES})`;
    },
  })
  .meta({ description: 'How access is granted and revoked: postgres, webhook or command' });

export type WrittenProvider = z.output<typeof providerSchema>;

export function toProviderConfig(written: WrittenProvider): ProviderConfig {
  switch (written.type) {
    case 'postgres': {
      const attributes: PostgresLoginAttribute[] = [];
      for (const attribute of written.allowLoginAttributes ?? []) if (!attributes.includes(attribute)) attributes.push(attribute);
      return { type: 'postgres', url: written.url, mode: written.mode ?? 'membership', allowLoginAttributes: attributes };
    }
    case 'webhook':
      return {
        type: 'webhook',
        url: written.url,
        secret: written.secret,
        timeoutMs: (written.timeout ?? DEFAULT_WEBHOOK_TIMEOUT_SECONDS) * 1000,
        legacySignature: written.legacySignature ?? false,
      };
    case 'command':
      return {
        type: 'command',
        grant: written.grant,
        revoke: written.revoke,
        verify: written.verify ?? null,
        extend: written.extend ?? null,
        timeoutMs: (written.timeout ?? DEFAULT_COMMAND_TIMEOUT_SECONDS) * 1000,
        env: written.env ?? {},
      };
  }
}
