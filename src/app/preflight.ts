import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/env';
import { boltLogger } from '../slack/bolt-logger';
import { explainSlackFailure } from '../slack/slack-reachability';
import { connectionErrors, StartupError } from './connection-errors';

/** How long each check waits for an answer before it reports the dependency unreachable. */
const CHECK_TIMEOUT_MS = 10_000;

/** PostgreSQL as DATABASE_URL: one connection and SELECT 1. */
export async function checkDatabase(databaseUrl: string): Promise<void> {
  const error = await connectionErrors.probePostgres(databaseUrl, CHECK_TIMEOUT_MS);
  if (error) throw new StartupError(connectionErrors.explainPostgres(error, databaseUrl, 'DATABASE_URL', 'bot'));
}

/** Redis as REDIS_URL: one connection (no retries) and PING, which also checks the password. */
export async function checkRedis(redisUrl: string): Promise<void> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: CHECK_TIMEOUT_MS, enableOfflineQueue: false });
  let lastError: unknown = null;
  client.on('error', (err) => {
    lastError = err;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    // ioredis rejects with "Connection is closed." once its retries are off; the socket's own error says why.
    throw new StartupError(connectionErrors.explainRedis(lastError ?? error, redisUrl));
  } finally {
    client.disconnect();
  }
}

/** Slack's auth.test with SLACK_BOT_TOKEN, retried twice within seconds (not the client's default half hour). A
 * process that takes no Slack requests (`--role=worker`) needs Slack only for messages, which wait in the outbox:
 * when Slack cannot be reached (or answers 5xx or 429) it starts anyway, with a warning, so that expiries are revoked
 * during a Slack outage; a token Slack refuses stops every role. */
export async function checkSlack(config: Pick<AppConfig, 'slackBotToken' | 'slackApiUrl' | 'role'>, logger: Logger): Promise<void> {
  const client = new WebClient(config.slackBotToken, {
    slackApiUrl: config.slackApiUrl,
    logger: boltLogger(logger),
    timeout: CHECK_TIMEOUT_MS,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 },
  });
  try {
    await client.auth.test();
  } catch (error) {
    const explanation = explainSlackFailure(error, config.slackApiUrl);
    if (config.role !== 'worker' || !isSlackOutage(error)) throw new StartupError(explanation);
    logger.warn({ ...explanation }, 'starting without Slack: expiries and revocations go on; messages wait in the outbox until Slack answers (a worker takes no Slack requests)');
  }
}

/** Slack out of reach or failing for now, as opposed to refusing the token or the settings. */
function isSlackOutage(error: unknown): boolean {
  const err = (error ?? {}) as { code?: string; statusCode?: number };
  if (err.code === 'slack_webapi_request_error' || err.code === 'slack_webapi_rate_limited_error') return true;
  return err.code === 'slack_webapi_http_error' && (err.statusCode ?? 0) >= 500;
}

/** The first start step: PostgreSQL, Redis and Slack, each tried once with a clear explanation when it fails, before
 * anything else connects, retries and logs. */
export function preflightStep(config: AppConfig, logger: Logger) {
  return {
    name: 'preflight',
    start: async () => {
      await checkDatabase(config.databaseUrl);
      await checkRedis(config.redisUrl);
      await checkSlack(config, logger.child({ module: 'preflight' }));
    },
  };
}
