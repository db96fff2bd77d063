import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { PROVIDER_CHANGE_SETTINGS, type ProviderChangeSetting } from '../domain/provider-changes';

/** Which parts of the bot a process runs: the Slack receiver (web), the expiry machinery (worker), or both. */
export type ProcessRole = 'web' | 'worker' | 'all';
export const PROCESS_ROLES: readonly ProcessRole[] = ['web', 'worker', 'all'];

export interface AppConfig {
  slackBotToken: string;
  /** Null when nothing checks request signatures: a worker, or Socket Mode. */
  slackSigningSecret: string | null;
  /** App-level token (xapp-…): Slack events arrive over Socket Mode instead of HTTP. Unset means HTTP. */
  slackAppToken?: string | null;
  /** `--role` or BREAKGLASS_ROLE; unset means all (hand-built configs in tests and the bench). */
  role?: ProcessRole;
  slackApiUrl: string;
  databaseUrl: string;
  redisUrl: string;
  port: number;
  policyPath: string;
  logLevel: string;
  /** BullMQ queue name; deployments sharing one Redis need different ones. */
  queueName: string;
  reconcileEveryMs: number;
  jobLockMs: number;
  /** How long a process may stay silent before the effects it was delivering are taken over by another
   * (EFFECT_LIVENESS; default 30s). */
  effectLivenessMs?: number;
  /** Expiry jobs (revocations) one process runs at once. */
  expiryConcurrency: number;
  /** How far V8 lets the heap grow past what the last full collection kept, in percent; 0 = V8's own heuristics
   * (HEAP_GROWING_PERCENT; src/app/heap-growth.ts). */
  heapGrowingPercent?: number;
  /** Slack listeners' follow-ups (the work after the ack) one process runs at once; see FollowUpGate. */
  slackFollowUpConcurrency: number;
  /** Bearer token of GET /audit; without one the endpoint answers 404. */
  auditApiToken?: string;
  /** How often the drift check runs in processes that run expiries (src/requests/drift-check.ts); null: never.
   * Unset in hand-built configs (tests, the bench): never. */
  driftCheckEveryMs?: number | null;
  /** BREAKGLASS_PROVIDER_CHANGE: what start-up does with live grants whose provider changed (src/requests/provider-changes.ts).
   * Unset in hand-built configs: refuse. */
  providerChange?: ProviderChangeSetting;
  /** How long an audit event may wait for the sealer before it is late: alerted by the bot, a problem for verify
   * (AUDIT_SEAL_BOUND; default 5s). Unset in hand-built configs: the default. */
  auditSealBoundMs?: number;
  /** How often the audit chain head is published (AUDIT_HEAD_PUBLISH_EVERY; default 1h); null: only at shutdown. */
  auditHeadPublishEveryMs?: number | null;
  /** PAGERDUTY_TOKEN (a secret: never logged) and PAGERDUTY_API_URL, for `pagerduty:` approvers. Unset in hand-built
   * configs and without a token: no PagerDuty (the policy check refuses `pagerduty:` principals). */
  pagerDuty?: { token: string | null; apiUrl: string /** How long on-call answers are reused; tests only (default ON_CALL_CACHE_MS). */; cacheMs?: number };
  /** BREAKGLASS_COMMIT: the commit this build was made from, shown by breakglass_build_info (the image sets it). */
  buildCommit?: string;
}

/** PAGERDUTY_API_URL's default: PagerDuty's public REST API. */
export const DEFAULT_PAGERDUTY_API_URL = 'https://api.pagerduty.com';

/** AUDIT_SEAL_BOUND's default: see docs/audit.md (the sealer runs every 250 ms; 5 s leaves room for a
 * database that is busy with an expiry burst, measured in docs/benchmarks.md). */
export const DEFAULT_AUDIT_SEAL_BOUND = '5s';

/** SLACK_FOLLOW_UP_CONCURRENCY's default (docs/benchmarks.md, "Follow-up gate"). */
export const DEFAULT_FOLLOW_UP_CONCURRENCY = 4;

/** Thrown with a single line that says which variable is wrong and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const urlWithScheme = (schemes: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}` },
  );

/** A duration like 30s or 5m (see parseDuration), as milliseconds. */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, context) => {
      const seconds = parseDuration(value);
      if (seconds === null) {
        context.addIssue({ code: 'custom', message: 'must be a duration such as 30s, 5m or 1h' });
        return z.NEVER;
      }
      return seconds * 1000;
    });

/** `duration`, or `0` / `off` for "never" (null). */
const durationOrOff = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, context) => {
      if (/^\s*(0|off)\s*$/i.test(value)) return null;
      const seconds = parseDuration(value);
      if (seconds === null) {
        context.addIssue({ code: 'custom', message: 'must be a duration such as 15m or 1h, or 0 / off to disable it' });
        return z.NEVER;
      }
      return seconds * 1000;
    });

/** Every variable the bot reads, by name (test/unit/settings-reference.test.ts holds docs/configuration.md to it). */
export const envSchema = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token starting with xoxb-'),
  // Required by the web role in HTTP mode only; checked after the role is known.
  SLACK_SIGNING_SECRET: z.string().min(8, 'must be the app signing secret (Basic Information page)').optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'must be an app-level token starting with xapp- (Basic Information -> App-Level Tokens)')
    .optional(),
  BREAKGLASS_ROLE: z.enum(PROCESS_ROLES as [ProcessRole, ...ProcessRole[]], { error: 'must be web, worker or all' }).default('all'),
  SLACK_API_URL: urlWithScheme(['http:', 'https:'])
    .default('https://slack.com/api/')
    .transform((value) => (value.endsWith('/') ? value : `${value}/`)),
  DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']),
  // Used by `npm run db:migrate` only (the tables' owner); checked here too, so a typo stops the bot at start-up
  // rather than the next deployment's migration.
  MIGRATION_DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: urlWithScheme(['redis:', 'rediss:']),
  PORT: z.coerce.number({ error: 'must be a port number (1-65535)' }).int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(3000),
  BREAKGLASS_POLICY: z.string().min(1).default('./breakglass.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BREAKGLASS_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "-" or "_"')
    .default('breakglass-expiry'),
  RECONCILE_EVERY: duration('1m'),
  JOB_LOCK: duration('30s'),
  EFFECT_LIVENESS: duration('30s'),
  DRIFT_CHECK_EVERY: durationOrOff('15m'),
  AUDIT_SEAL_BOUND: duration(DEFAULT_AUDIT_SEAL_BOUND).refine((ms) => ms >= 1_000 && ms <= 3_600_000, 'must be between 1s and 1h'),
  AUDIT_HEAD_PUBLISH_EVERY: durationOrOff('1h').refine((ms) => ms === null || (ms >= 60_000 && ms <= 24 * 3_600_000), 'must be between 1m and 24h, or 0 / off'),
  AUDIT_API_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters, e.g. the output of `openssl rand -hex 32`')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it travels in an Authorization header)')
    .optional(),
  EXPIRY_CONCURRENCY: z.coerce
    .number({ error: 'must be a whole number (1-500)' })
    .int('must be a whole number (1-500)')
    .min(1, 'must be 1-500')
    .max(500, 'must be 1-500')
    .default(20),
  HEAP_GROWING_PERCENT: z.coerce
    .number({ error: "must be a whole number (0-400; 0 = V8's own heap growth)" })
    .int("must be a whole number (0-400; 0 = V8's own heap growth)")
    .min(0, "must be 0-400 (0 = V8's own heap growth)")
    .max(400, "must be 0-400 (0 = V8's own heap growth)")
    .default(30),
  BREAKGLASS_PROVIDER_CHANGE: z
    .enum(PROVIDER_CHANGE_SETTINGS as unknown as [ProviderChangeSetting, ...ProviderChangeSetting[]], { error: 'must be refuse, accept or revoke' })
    .default('refuse'),
  PAGERDUTY_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]+$/, 'must be a PagerDuty REST API key: printable ASCII without spaces (it travels in an Authorization header)')
    .optional(),
  PAGERDUTY_API_URL: urlWithScheme(['http:', 'https:']).default(DEFAULT_PAGERDUTY_API_URL),
  SLACK_FOLLOW_UP_CONCURRENCY: z.coerce
    .number({ error: 'must be a whole number (1-100)' })
    .int('must be a whole number (1-100)')
    .min(1, 'must be 1-100')
    .max(100, 'must be 1-100')
    .default(DEFAULT_FOLLOW_UP_CONCURRENCY),
  BREAKGLASS_COMMIT: z
    .string()
    .regex(/^[0-9A-Za-z._-]{1,64}$/, 'must be a commit id or version label (letters, digits, ".", "_" or "-", at most 64)')
    .optional(),
});

/** Every environment variable loadConfig reads (the manifests' test checks theirs against it). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** `--role=web` or `--role web` from the command line (it wins over BREAKGLASS_ROLE); anything else is refused. */
function roleFromArgs(args: readonly string[]): string | undefined {
  let role: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg.startsWith('--role=')) role = arg.slice('--role='.length);
    else if (arg === '--role' && index + 1 < args.length) role = args[++index];
    else throw new ConfigError(`unknown argument ${JSON.stringify(arg)} (the only one is --role=web|worker|all)`);
  }
  if (role !== undefined && !(PROCESS_ROLES as readonly string[]).includes(role)) throw new ConfigError(`--role must be web, worker or all`);
  return role;
}

/** Parses the environment (and the command-line arguments) once at start-up. Empty strings count as unset. Only
 * the settings the process role needs are required: a worker takes no Slack requests, so it needs no signing
 * secret, and neither does Socket Mode. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, args: readonly string[] = []): AppConfig {
  const present: Record<string, string | undefined> = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const roleArg = roleFromArgs(args);
  if (roleArg) present.BREAKGLASS_ROLE = roleArg;
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    const why = issue.code === 'invalid_type' && present[name] === undefined ? 'is not set (see .env.example)' : issue.message;
    throw new ConfigError(`${name} ${why}`);
  }
  const e = parsed.data;
  const receivesSlack = e.BREAKGLASS_ROLE !== 'worker';
  if (receivesSlack && !e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
    throw new ConfigError(`SLACK_SIGNING_SECRET is not set (see .env.example); the ${e.BREAKGLASS_ROLE} role needs it, or SLACK_APP_TOKEN for Socket Mode`);
  }
  return {
    slackBotToken: e.SLACK_BOT_TOKEN,
    slackSigningSecret: receivesSlack && !e.SLACK_APP_TOKEN ? e.SLACK_SIGNING_SECRET! : null,
    slackAppToken: receivesSlack ? (e.SLACK_APP_TOKEN ?? null) : null,
    role: e.BREAKGLASS_ROLE,
    slackApiUrl: e.SLACK_API_URL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    policyPath: e.BREAKGLASS_POLICY,
    logLevel: e.LOG_LEVEL,
    queueName: e.BREAKGLASS_QUEUE,
    reconcileEveryMs: e.RECONCILE_EVERY,
    jobLockMs: e.JOB_LOCK,
    effectLivenessMs: e.EFFECT_LIVENESS,
    expiryConcurrency: e.EXPIRY_CONCURRENCY,
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
    slackFollowUpConcurrency: e.SLACK_FOLLOW_UP_CONCURRENCY,
    auditApiToken: e.AUDIT_API_TOKEN,
    driftCheckEveryMs: e.DRIFT_CHECK_EVERY,
    providerChange: e.BREAKGLASS_PROVIDER_CHANGE,
    auditSealBoundMs: e.AUDIT_SEAL_BOUND,
    auditHeadPublishEveryMs: e.AUDIT_HEAD_PUBLISH_EVERY,
    pagerDuty: { token: e.PAGERDUTY_TOKEN ?? null, apiUrl: e.PAGERDUTY_API_URL },
    buildCommit: e.BREAKGLASS_COMMIT,
  };
}
