import pino, { type Logger } from 'pino';

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
  'config.databaseUrl',
  'config.redisUrl',
];

/** Connection strings with passwords that slip into free text (error messages) lose the password. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
    .replace(/xox[abposr]-[0-9A-Za-z-]+/g, 'xox?-***');
}

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'breakglass' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: {
      log(object) {
        // Error messages are free text: scrub credentials that might be embedded in them.
        const err = object.err as { message?: string; stack?: string } | undefined;
        if (err && typeof err === 'object') {
          return { ...object, err: { ...err, message: scrubSecrets(String(err.message ?? '')), stack: scrubSecrets(String(err.stack ?? '')) } };
        }
        return object;
      },
    },
    serializers: { err: pino.stdSerializers.err },
  });
}

export type { Logger };
