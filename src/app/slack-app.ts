import { randomUUID } from 'node:crypto';
import { App, ExpressReceiver, SocketModeReceiver, type Receiver } from '@slack/bolt';
import type { ExtendedErrorHandlerArgs } from '@slack/bolt/dist/App';
import type express from 'express';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/env';
import { FollowUpGate } from '../slack/follow-up-gate';
import { register as registerActions } from '../slack/listeners/actions';
import { register as registerCommands } from '../slack/listeners/commands';
import { register as registerEvents } from '../slack/listeners/events';
import { register as registerViews } from '../slack/listeners/views';
import { guardSlackRequests } from '../slack/request-guard';
import { rejectFutureTimestamps } from '../slack/request-timestamp-guard';
import type { Infrastructure } from './infrastructure';

/** The least time between two warnings that Slack follow-ups ran past the follow-up gate's limit. */
const OVERFLOW_WARNING_EVERY_MS = 60_000;

export interface SlackAppOptions {
  config: AppConfig;
  logger: Logger;
  infra: Infrastructure;
  /** The express app Slack's HTTP route goes on (when there is no app token for Socket Mode). */
  http: express.Express;
  /** How long a Slack follow-up waits for a slot before it runs anyway (FollowUpGate's default); tests change it. */
  followUpMaxWaitMs?: number;
}

/** The user and channel of a failed Slack request, so they hear about the failure instead of silence. */
function whoToTell(body: object | undefined): { userId: string; channelId: string } | null {
  const field = (value: unknown, key: string): unknown => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined);
  const userId = field(body, 'user_id') ?? field(field(body, 'user'), 'id');
  const channelId = field(body, 'channel_id') ?? field(field(body, 'channel'), 'id') ?? field(field(body, 'container'), 'channel_id');
  return typeof userId === 'string' && typeof channelId === 'string' ? { userId, channelId } : null;
}

/** A short id for an unexpected error, in its log line and in what the user is told, to find one from the other. */
function newErrorId(): string {
  return randomUUID().slice(0, 8);
}

/** Bolt with the bot's listeners, on Slack's HTTP route of `http` or on a Socket Mode connection. Initialized and
 * (in Socket Mode) connected by the lifecycle, not here. */
export function createSlackApp({ config, logger, infra, http, followUpMaxWaitMs }: SlackAppOptions): App {
  const { slackLogger, service, queries, homes, surface, reports } = infra;
  let receiver: Receiver;
  if (config.slackAppToken) {
    receiver = new SocketModeReceiver({ appToken: config.slackAppToken, logger: slackLogger, installerOptions: { clientOptions: { slackApiUrl: config.slackApiUrl } } });
  } else {
    if (!config.slackSigningSecret) throw new Error('the web role needs a signing secret or an app token');
    const routeLog = logger.child({ module: 'slack-route' });
    http.use('/slack/events', rejectFutureTimestamps(), ...guardSlackRequests({ signingSecret: config.slackSigningSecret, logger: routeLog }));
    receiver = new ExpressReceiver({
      signingSecret: config.slackSigningSecret,
      app: http,
      logger: slackLogger,
      // Never a 500: what escapes Bolt is a bug, logged with an id; Slack gets an empty 200 (nothing was changed by
      // the request itself, and a retry would not help).
      processEventErrorHandler: async ({ error, response }) => {
        const errorId = newErrorId();
        routeLog.error({ err: error, errorId }, 'unhandled error while Bolt processed a Slack request');
        if (response.headersSent) return false;
        response.writeHead(200);
        response.end();
        return true; // marks it acknowledged, so it is not also reported as unanswered after 3 s
      },
      unhandledRequestHandler: ({ response }) => {
        routeLog.error({ errorId: newErrorId() }, 'a Slack request was not acknowledged within 3 seconds (a listener failed or hung before its ack)');
        if (!response.headersSent) {
          response.writeHead(404);
          response.end();
        }
      },
    });
  }
  const bolt = new App({
    token: config.slackBotToken,
    receiver,
    deferInitialization: true,
    extendedErrorHandler: true,
    clientOptions: { slackApiUrl: config.slackApiUrl },
    logger: slackLogger,
  });
  const slackLog = logger.child({ module: 'slack' });
  const followUps = followUpGate(config, slackLog, infra, followUpMaxWaitMs);
  const deps = { service, queries, homes, surface, reports, followUps, logger: slackLog };
  registerCommands(bolt, deps);
  registerEvents(bolt, deps);
  registerActions(bolt, deps);
  registerViews(bolt, deps);
  bolt.error(async ({ error, body }: ExtendedErrorHandlerArgs) => {
    const errorId = newErrorId();
    logger.error({ err: error, errorId }, 'unhandled error in a Slack listener');
    const where = whoToTell(body);
    if (!where) return;
    await surface
      .postEphemeral(
        where.channelId,
        where.userId,
        `:warning: Breakglass hit an unexpected error handling that (logged as error \`${errorId}\`). Please try again in a moment; if it keeps happening, tell the Breakglass admins.`,
      )
      .catch(() => {});
  });
  return bolt;
}

/** Bounds the listeners' follow-up work (SLACK_FOLLOW_UP_CONCURRENCY), counting and warning about what runs past it. */
function followUpGate(config: AppConfig, slackLog: Logger, { metrics }: Infrastructure, maxWaitMs: number | undefined): FollowUpGate {
  let warnedAt = Number.NEGATIVE_INFINITY;
  return new FollowUpGate(config.slackFollowUpConcurrency, {
    maxWaitMs,
    onOverflow: (stats) => {
      metrics.slackFollowUpPastLimit();
      // Once a minute at most: in a burst, every waiting follow-up may run past the limit; the metric counts them.
      if (Date.now() - warnedAt < OVERFLOW_WARNING_EVERY_MS) return;
      warnedAt = Date.now();
      slackLog.warn(
        { ...stats, limit: config.slackFollowUpConcurrency },
        'Slack follow-ups waited too long for a slot and run past SLACK_FOLLOW_UP_CONCURRENCY (slow targets, or a burst); breakglass_slack_follow_ups_past_limit_total counts them',
      );
    },
  });
}
