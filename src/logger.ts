import pino, { type DestinationStream, type Logger } from 'pino';

/** Anything that may carry a credential is redacted wherever it appears in a log line. */
const redactPaths = [
  'token',
  'secret',
  'password',
  'url',
  'connectionString',
  'authorization',
  '*.token',
  '*.secret',
  '*.password',
  '*.url',
  '*.connectionString',
  '*.authorization',
  'headers["x-slack-signature"]',
  'config.slackBotToken',
  'config.slackSigningSecret',
  'config.slackAppToken',
  'config.databaseUrl',
  'config.redisUrl',
  'config.auditApiToken',
  'config.pagerDuty.token',
  'pagerDuty.token',
  'auditApiToken',
  '*.auditApiToken',
];

/** Connection strings with passwords that slip into free text (error messages) lose the password. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)\S*@/gi, '$1***@') // greedy: a raw "@" may sit inside the password
    .replace(/xox[abposr]-[0-9A-Za-z-]+/g, 'xox?-***')
    .replace(/(Token token=)\S+/gi, '$1***'); // a PagerDuty Authorization header
}

function scrubbedError(error: Error): ReturnType<typeof pino.stdSerializers.err> {
  const serialized = pino.stdSerializers.err(error);
  if (!serialized || typeof serialized !== 'object') return serialized;
  return { ...serialized, message: scrubSecrets(String(serialized.message ?? '')), stack: scrubSecrets(String(serialized.stack ?? '')) };
}

function scrubbedCopy(error: Error): Error {
  const copy = Object.create(Object.getPrototypeOf(error)) as Error;
  Object.assign(copy, error, { message: scrubSecrets(error.message), stack: scrubSecrets(String(error.stack ?? '')) });
  return copy;
}

/** JSON logs to stdout (or `destination`, for tests). */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'breakglass' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    // Error messages are free text: scrub credentials that might be embedded in them.
    serializers: { err: scrubbedError },
    hooks: {
      // Free-text messages too (Bolt's errors arrive as text; `logger.error(err)` copies err.message into msg).
      logMethod(args, method) {
        const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubSecrets(arg) : arg instanceof Error ? scrubbedCopy(arg) : arg));
        return method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
