import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';
import type { OutageReporter } from '../app/outage-reporter';
import { explainSlackUnreachable, probeSlack } from './slack-reachability';

/** The Web API client's debug lines that echo whole request and response bodies: messages can carry secrets (a
 * temporary login's password goes out in a DM), so they never reach the logs, whatever the level. */
const BODY_ECHO = /^http request (body|result):/;
/** The client's line for every failed attempt (it says only "fetch failed"), and for every answer. */
const REQUEST_FAILED = /^http request failed/;
const RESPONSE_RECEIVED = /^http response received/;

/** With `reachability`, failed attempts go to it (one warning that says what to check, then quiet) instead of a
 * warning per attempt, and an answer from Slack ends the outage. */
export interface SlackReachability {
  reporter: OutageReporter;
  slackApiUrl: string;
}

/** Bolt logs through pino, so its lines get the same redaction and JSON shape as ours. */
export function boltLogger(logger: Logger, reachability?: SlackReachability): BoltLogger {
  let level = LogLevel.INFO;
  const write =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]) => {
      const text = msg.map((part) => (part instanceof Error ? part.message : typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
      if (BODY_ECHO.test(text)) return;
      if (reachability && REQUEST_FAILED.test(text)) {
        const { reporter, slackApiUrl } = reachability;
        reporter.failed(async () => {
          const probe = await probeSlack(slackApiUrl);
          return explainSlackUnreachable(
            probe ?? { message: `${text.replace(REQUEST_FAILED, '').trim()}; Slack answered a probe just after (a passing failure?)` },
            slackApiUrl,
            '',
          );
        }, text);
        return;
      }
      if (reachability && RESPONSE_RECEIVED.test(text)) reachability.reporter.recovered();
      // Without a reporter (the start-up check), whoever made the call explains the failure: each attempt is a detail.
      logger[REQUEST_FAILED.test(text) ? 'debug' : method](text);
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
