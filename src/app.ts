import { App, ExpressReceiver } from '@slack/bolt';
import type { ExtendedErrorHandlerArgs } from '@slack/bolt/dist/App';
import express from 'express';
import { Redis } from 'ioredis';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { AppConfig } from './config/env';
import { createPrisma } from './db/prisma';
import { auditRoute } from './http/audit-route';
import { ExpiryQueue } from './jobs/expiry-queue';
import { ExpiryWorker } from './jobs/expiry-worker';
import { QueueWatchdog } from './jobs/queue-watchdog';
import { Reconciler } from './jobs/reconciler';
import type { Policy } from './policy/types';
import { createProvider } from './providers/create-provider';
import { ProviderRegistry } from './providers/provider-registry';
import { AccessService } from './services/access-service';
import { RequestNotifier } from './services/request-notifier';
import { UserDirectory } from './services/user-directory';
import { boltLogger } from './slack/bolt-logger';
import { register as registerActions } from './slack/listeners/actions';
import { register as registerCommands } from './slack/listeners/commands';
import { register as registerViews } from './slack/listeners/views';
import { rejectFutureTimestamps } from './slack/request-timestamp-guard';
import { WebClientSurface } from './slack/surface';

/** The user and channel of a failed Slack request, so they hear about the failure instead of silence. */
function whoToTell(body: Record<string, any> | undefined): { userId: string; channelId: string } | null {
  const userId = body?.user_id ?? body?.user?.id;
  const channelId = body?.channel_id ?? body?.channel?.id ?? body?.container?.channel_id;
  return typeof userId === 'string' && typeof channelId === 'string' ? { userId, channelId } : null;
}


export interface BreakglassOptions {
  config: AppConfig;
  policy: Policy;
  logger: Logger;
  /** Builds the provider of each policy resource; benchmarks swap in a no-op provider. */
  createProvider?: typeof createProvider;
  /** Least time between two posts to one channel; Slack allows about one a second. Tests shorten it. */
  slackPostIntervalMs?: number;
}

export interface Breakglass {
  service: AccessService;
  expiryQueue: ExpiryQueue;
  reconciler: Reconciler;
  /** Starts HTTP and the worker; resolves with the port actually bound (PORT=0 picks a free one). */
  start(): Promise<number>;
  stop(): Promise<void>;
}

/** How long a shutdown waits for Slack posts still in flight. */
const SHUTDOWN_NOTIFY_GRACE_MS = 5_000;

/** Wires the bot: Bolt's HTTP receiver on /slack/events and the expiry worker, sharing one service. */
export function createBreakglass({
  config,
  policy,
  logger,
  createProvider: create,
  slackPostIntervalMs,
}: BreakglassOptions): Breakglass {
  const { queueName, reconcileEveryMs, jobLockMs } = config;
  const db = createPrisma(config.databaseUrl, config.expiryConcurrency);
  // Producers fail fast when Redis is away (the reconciler catches up); the worker's blocking
  // connection must retry forever, as BullMQ requires.
  const queueConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const workerConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  for (const connection of [queueConnection, workerConnection]) {
    connection.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  }

  const http = express();
  http.use('/slack/events', rejectFutureTimestamps());
  http.use('/audit', auditRoute(db, config.auditApiToken, logger.child({ module: 'audit' })));
  const slackLogger = boltLogger(logger.child({ module: 'bolt' }));
  const receiver = new ExpressReceiver({ signingSecret: config.slackSigningSecret, app: http, logger: slackLogger });
  const app = new App({
    token: config.slackBotToken,
    receiver,
    deferInitialization: true,
    extendedErrorHandler: true,
    clientOptions: { slackApiUrl: config.slackApiUrl },
    logger: slackLogger,
  });

  const surface = WebClientSurface.fromToken(config.slackBotToken, { slackApiUrl: config.slackApiUrl, logger: slackLogger, postIntervalMs: slackPostIntervalMs });
  const providers = new ProviderRegistry(policy, create);
  const expiryQueue = new ExpiryQueue(queueConnection, queueName);
  const notifier = new RequestNotifier(surface, logger.child({ module: 'notifier' }), (requestId) => service.loadView(requestId));
  const service: AccessService = new AccessService({
    db,
    policy,
    providers,
    directory: new UserDirectory(policy, surface, logger.child({ module: 'directory' })),
    notifier,
    expiry: expiryQueue,
    logger: logger.child({ module: 'access' }),
  });
  const reconciler = new Reconciler(service, expiryQueue, logger.child({ module: 'reconciler' }));
  const deps = { service, surface, logger: logger.child({ module: 'slack' }) };
  registerCommands(app, deps);
  registerActions(app, deps);
  registerViews(app, deps);
  app.error(async ({ error, body }: ExtendedErrorHandlerArgs) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
    const where = whoToTell(body);
    if (!where) return;
    await surface
      .postEphemeral(where.channelId, where.userId, ':warning: Breakglass hit an unexpected error handling that (it is logged). Please try again in a moment; if it keeps happening, tell the Breakglass admins.')
      .catch(() => {});
  });

  const watchdog = new QueueWatchdog(expiryQueue, reconciler, logger.child({ module: 'watchdog' }), reconcileEveryMs);
  let worker: ExpiryWorker | null = null;
  let server: Server | null = null;

  return {
    service,
    expiryQueue,
    reconciler,
    async start() {
      await app.init();
      worker = new ExpiryWorker({ connection: workerConnection, queueName, service, reconciler, logger: logger.child({ module: 'worker' }), lockMs: jobLockMs, concurrency: config.expiryConcurrency });
      await worker.waitUntilReady();
      // Catch up at once with whatever happened while no bot was running, then every minute.
      await reconciler.run();
      await expiryQueue.startReconcileSchedule(reconcileEveryMs);
      watchdog.start();
      server = (await app.start(config.port)) as Server;
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      logger.info({ port, queue: queueName }, 'breakglass is up');
      return port;
    },
    async stop() {
      if (server) await app.stop();
      server = null;
      await watchdog.stop();
      await worker?.close();
      await notifier.idle(SHUTDOWN_NOTIFY_GRACE_MS);
      await expiryQueue.close();
      // Not quit(): with Redis away it would wait for a reconnection that may never come.
      queueConnection.disconnect();
      workerConnection.disconnect();
      await providers.closeAll();
      await db.$disconnect();
    },
  };
}
