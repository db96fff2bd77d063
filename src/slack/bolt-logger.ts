import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';

/** The Web API client's debug lines that echo whole request and response bodies: messages can carry secrets (a
 * temporary login's password goes out in a DM), so they never reach the logs, whatever the level. */
const BODY_ECHO = /^http request (body|result):/;

/** Bolt logs through pino, so its lines get the same redaction and JSON shape as ours. */
export function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const write =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]) => {
      const text = msg.map((part) => (part instanceof Error ? part.message : typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
      if (!BODY_ECHO.test(text)) logger[method](text);
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
