import { z } from 'zod';
import { parseDuration } from '../domain/duration';

export interface AppConfig {
  slackBotToken: string;
  slackSigningSecret: string;
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
  /** Expiry jobs (revocations) one process runs at once. */
  expiryConcurrency: number;
  /** Bearer token of GET /audit; without one the endpoint answers 404. */
  auditApiToken?: string;
}

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

const envSchema = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token starting with xoxb-'),
  SLACK_SIGNING_SECRET: z.string().min(8, 'must be the app signing secret (Basic Information page)'),
  SLACK_API_URL: urlWithScheme(['http:', 'https:'])
    .default('https://slack.com/api/')
    .transform((value) => (value.endsWith('/') ? value : `${value}/`)),
  DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']),
  REDIS_URL: urlWithScheme(['redis:', 'rediss:']),
  PORT: z.coerce.number({ error: 'must be a port number (1-65535)' }).int('must be a whole number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(3000),
  BREAKGLASS_POLICY: z.string().min(1).default('./breakglass.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BREAKGLASS_QUEUE: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "-" or "_"').default('breakglass-expiry'),
  RECONCILE_EVERY: duration('1m'),
  JOB_LOCK: duration('30s'),
  AUDIT_API_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters, e.g. the output of `openssl rand -hex 32`')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it travels in an Authorization header)')
    .optional(),
  EXPIRY_CONCURRENCY: z.coerce.number({ error: 'must be a whole number (1-500)' }).int('must be a whole number (1-500)').min(1, 'must be 1-500').max(500, 'must be 1-500').default(20),
});

/** Parses the environment once at start-up. Empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    const why = issue.code === 'invalid_type' && present[name] === undefined ? 'is not set (see .env.example)' : issue.message;
    throw new ConfigError(`${name} ${why}`);
  }
  const e = parsed.data;
  return {
    slackBotToken: e.SLACK_BOT_TOKEN,
    slackSigningSecret: e.SLACK_SIGNING_SECRET,
    slackApiUrl: e.SLACK_API_URL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    policyPath: e.BREAKGLASS_POLICY,
    logLevel: e.LOG_LEVEL,
    queueName: e.BREAKGLASS_QUEUE,
    reconcileEveryMs: e.RECONCILE_EVERY,
    jobLockMs: e.JOB_LOCK,
    expiryConcurrency: e.EXPIRY_CONCURRENCY,
    auditApiToken: e.AUDIT_API_TOKEN,
  };
}
