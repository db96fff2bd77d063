import { App, ExpressReceiver, SocketModeReceiver, type Receiver } from '@slack/bolt';
import type { ExtendedErrorHandlerArgs } from '@slack/bolt/dist/App';
import { WebClient } from '@slack/web-api';
import express from 'express';
import { Redis } from 'ioredis';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { AppConfig, ProcessRole } from './config/env';
import { createPrisma } from './db/prisma';
import { opsRoutes } from './http/ops-routes';
import { Readiness } from './http/readiness';
import { auditRoute } from './http/audit-route';
import { ExpiryQueue } from './jobs/expiry-queue';
import { ExpiryWorker } from './jobs/expiry-worker';
import { QueueWatchdog } from './jobs/queue-watchdog';
import { ReminderQueue, reminderQueueName } from './jobs/reminder-queue';
import { ReminderWorker } from './jobs/reminder-worker';
import { Reconciler } from './jobs/reconciler';
import { BreakglassMetrics } from './metrics/breakglass-metrics';
import type { Policy } from './policy/types';
import type { createProvider } from './providers/create-provider';
import { ProviderRegistry } from './providers/provider-registry';
import { Deliveries } from './deliveries';
import { pruneSettledEffects } from './effects/outbox';
import { DriftSchedule } from './jobs/drift-schedule';
import { DriftCheck } from './requests/drift-check';
import { driftReports } from './requests/drift-reports';
import { RequestReads } from './requests/request-reads';
import { RequestStore } from './requests/request-store';
import { AccessService } from './services/access-service';
import { HomePublisher } from './services/home-publisher';
import { RequestQueries } from './services/request-queries';
import { credentialsDirectMessage } from './slack/blocks/notices';
import { UserDirectory } from './services/user-directory';
import { boltLogger } from './slack/bolt-logger';
import { FollowUpGate } from './slack/follow-up-gate';
import { register as registerActions } from './slack/listeners/actions';
import { register as registerCommands } from './slack/listeners/commands';
import { register as registerEvents } from './slack/listeners/events';
import { register as registerViews } from './slack/listeners/views';
import { rejectFutureTimestamps } from './slack/request-timestamp-guard';
import { WebClientSurface } from './slack/surface';

/** The user and channel of a failed Slack request, so they hear about the failure instead of silence. */
function whoToTell(body: object | undefined): { userId: string; channelId: string } | null {
  const field = (value: unknown, key: string): unknown => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined);
  const userId = field(body, 'user_id') ?? field(field(body, 'user'), 'id');
  const channelId = field(body, 'channel_id') ?? field(field(body, 'channel'), 'id') ?? field(field(body, 'container'), 'channel_id');
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
  /** The migrations the database must have for /readyz (default prisma/migrations); tests point it elsewhere. */
  migrationsDir?: string;
  /** How long a Slack follow-up waits for a slot before it runs anyway (FollowUpGate's default); tests change it. */
  followUpMaxWaitMs?: number;
}

export interface Breakglass {
  role: ProcessRole;
  service: AccessService;
  expiryQueue: ExpiryQueue;
  reminderQueue: ReminderQueue;
  reconciler: Reconciler;
  metrics: BreakglassMetrics;
  /** The effect runners: grants, Slack messages, jobs and App Home refreshes, delivered from the outbox. */
  deliveries: Deliveries;
  /** Starts what the role runs (HTTP always, for the ops endpoints); resolves with the port actually bound (PORT=0
   * picks a free one). */
  start(): Promise<number>;
  stop(): Promise<void>;
}

/** The least time between two warnings that Slack follow-ups ran past the follow-up gate's limit. */
const OVERFLOW_WARNING_EVERY_MS = 60_000;
/** How long a shutdown waits for effects in delivery (Slack posts, grants); what is not done by then stays in the
 * outbox for the next process (a post may then go out twice; see docs). */
const SHUTDOWN_DELIVERY_GRACE_MS = 5_000;
/** How long a shutdown waits for a BullMQ worker to close. With Redis unreachable or reconnecting, a worker's close
 * can wait forever for its blocked fetch; its jobs stay in Redis and are picked up again once their locks lapse. */
const WORKER_CLOSE_GRACE_MS = 5_000;

/** Waits for `closing` at most `graceMs`; a stop must not hang on Redis. */
async function closeWithin(closing: Promise<void> | undefined, graceMs: number, onTimeout: () => void): Promise<void> {
  if (!closing) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  const outcome = await Promise.race([closing.then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') onTimeout();
}

/** Listens on `port` (0: any free one) with the whole express app: Slack's route if any, and the ops endpoints. */
function listen(http: express.Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(http);
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Wires the bot, one service shared by the parts its role runs. web: the Slack receiver (HTTP on /slack/events, or
 * Socket Mode when there is an app token), which also queues expiries and reminders. worker: the expiry and reminder workers, the reconcile
 * schedule and the watchdog. all: both. Every role serves /healthz, /readyz and /metrics on PORT. */
export function createBreakglass({ config, policy, logger, createProvider: create, slackPostIntervalMs, migrationsDir, followUpMaxWaitMs }: BreakglassOptions): Breakglass {
  const { queueName, reconcileEveryMs, jobLockMs } = config;
  const role = config.role ?? 'all';
  const receivesSlack = role !== 'worker';
  const runsExpiries = role !== 'web';
  const db = createPrisma(config.databaseUrl, config.expiryConcurrency);
  // Producers fail fast when Redis is away (the reconciler catches up); the worker's blocking
  // connection must retry forever, as BullMQ requires.
  const queueConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const workerConnection = runsExpiries ? new Redis(config.redisUrl, { maxRetriesPerRequest: null }) : null;
  const reminderWorkerConnection = runsExpiries ? new Redis(config.redisUrl, { maxRetriesPerRequest: null }) : null;
  for (const connection of [queueConnection, workerConnection, reminderWorkerConnection]) {
    connection?.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  }

  const metrics = new BreakglassMetrics(db, policy, logger.child({ module: 'metrics' }));
  const slackLogger = boltLogger(logger.child({ module: 'bolt' }));
  const surface = WebClientSurface.fromToken(config.slackBotToken, {
    slackApiUrl: config.slackApiUrl,
    logger: slackLogger,
    postIntervalMs: slackPostIntervalMs,
    onCallFailed: (method, err) => metrics.slackCallFailed(method, err),
  });
  const providers = new ProviderRegistry(policy, create);
  const expiryQueue = new ExpiryQueue(queueConnection, queueName);
  const reminderQueue = new ReminderQueue(queueConnection, reminderQueueName(queueName));
  const directory = new UserDirectory(policy, surface, logger.child({ module: 'directory' }));
  const reads = new RequestReads({ db, policy });
  const queries = new RequestQueries({ db, policy, directory, loadView: (requestId) => reads.loadView(requestId) });
  const store = new RequestStore({ db, logger: logger.child({ module: 'requests' }), metrics, wake: () => deliveries.wake() });
  const service = new AccessService({
    db,
    policy,
    providers,
    directory,
    store,
    reads,
    expiry: expiryQueue,
    logger: logger.child({ module: 'access' }),
    metrics,
    expiryConcurrency: config.expiryConcurrency,
    credentials: { deliver: (view, credentials) => surface.sendDirectMessage(view.requesterId, credentialsDirectMessage(view, credentials)) },
  });
  const reconciler = new Reconciler(service, expiryQueue, logger.child({ module: 'reconciler' }), (before) => pruneSettledEffects(db, before));
  // Every role republishes the App Homes a change concerns (the worker's expiries too).
  const homes = new HomePublisher({ queries, surface, logger: logger.child({ module: 'home' }) });
  // Every role delivers effects, whichever process committed them.
  const deliveries: Deliveries = new Deliveries({
    db,
    policy,
    logger,
    metrics,
    surface,
    providers,
    reads,
    queries,
    homes,
    service,
    expiry: expiryQueue,
    reminders: reminderQueue,
    providerLanes: config.expiryConcurrency,
    livenessMs: config.effectLivenessMs,
  });

  const http = express();
  const readiness = new Readiness({ db, redisReachable: (timeoutMs) => expiryQueue.reachable(timeoutMs), logger: logger.child({ module: 'readiness' }), migrationsDir });
  http.use(opsRoutes({ readiness, registry: metrics.registry }));
  http.use('/audit', auditRoute(db, config.auditApiToken, logger.child({ module: 'audit' })));
  const socketMode = receivesSlack && Boolean(config.slackAppToken);
  const app = receivesSlack ? slackApp() : null;

  /** Bolt with the bot's listeners, on Slack's HTTP route of `http` or on a Socket Mode connection. */
  function slackApp(): App {
    let receiver: Receiver;
    if (config.slackAppToken) {
      receiver = new SocketModeReceiver({ appToken: config.slackAppToken, logger: slackLogger, installerOptions: { clientOptions: { slackApiUrl: config.slackApiUrl } } });
    } else {
      if (!config.slackSigningSecret) throw new Error('the web role needs a signing secret or an app token');
      http.use('/slack/events', rejectFutureTimestamps());
      receiver = new ExpressReceiver({ signingSecret: config.slackSigningSecret, app: http, logger: slackLogger });
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
    let warnedAt = Number.NEGATIVE_INFINITY;
    const followUps = new FollowUpGate(config.slackFollowUpConcurrency, {
      maxWaitMs: followUpMaxWaitMs,
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
    const deps = { service, queries, homes, surface, followUps, logger: slackLog };
    registerCommands(bolt, deps);
    registerEvents(bolt, deps);
    registerActions(bolt, deps);
    registerViews(bolt, deps);
    bolt.error(async ({ error, body }: ExtendedErrorHandlerArgs) => {
      logger.error({ err: error }, 'unhandled error in a Slack listener');
      const where = whoToTell(body);
      if (!where) return;
      await surface
        .postEphemeral(
          where.channelId,
          where.userId,
          ':warning: Breakglass hit an unexpected error handling that (it is logged). Please try again in a moment; if it keeps happening, tell the Breakglass admins.',
        )
        .catch(() => {});
    });
    return bolt;
  }

  // The safety net for causes nobody foresaw: targets checked against the database, in the processes that expire.
  const drift =
    runsExpiries && config.driftCheckEveryMs
      ? new DriftSchedule(
          new DriftCheck({ db, providers, policy, logger: logger.child({ module: 'drift' }), metrics, reports: driftReports(store) }),
          logger.child({ module: 'drift' }),
          config.driftCheckEveryMs,
        )
      : null;
  const watchdog = new QueueWatchdog(expiryQueue, reconciler, logger.child({ module: 'watchdog' }), reconcileEveryMs);
  let worker: ExpiryWorker | null = null;
  let reminderWorker: ReminderWorker | null = null;
  let server: Server | null = null;
  let socketStarted = false;

  return {
    role,
    service,
    expiryQueue,
    reminderQueue,
    reconciler,
    metrics,
    deliveries,
    async start() {
      // Bolt checks the token with auth.test; a worker has no Bolt, so it checks it itself: a bad token must stop
      // the process at start, not at the first summary.
      if (app) await app.init();
      else await new WebClient(config.slackBotToken, { slackApiUrl: config.slackApiUrl, logger: slackLogger }).auth.test();
      await deliveries.start();
      if (runsExpiries) {
        worker = new ExpiryWorker({
          connection: workerConnection!,
          queueName,
          service,
          reconciler,
          logger: logger.child({ module: 'worker' }),
          lockMs: jobLockMs,
          concurrency: config.expiryConcurrency,
        });
        await worker.waitUntilReady();
        reminderWorker = new ReminderWorker({
          connection: reminderWorkerConnection!,
          queueName: reminderQueueName(queueName),
          service,
          logger: logger.child({ module: 'reminders' }),
        });
        await reminderWorker.waitUntilReady();
        // Catch up at once with whatever happened while no bot was running, then every minute.
        await reconciler.run();
        await expiryQueue.startReconcileSchedule(reconcileEveryMs);
        watchdog.start();
        drift?.start();
      }
      server = await listen(http, config.port);
      if (app && socketMode) {
        await app.start();
        socketStarted = true;
      }
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      logger.info({ port, queue: queueName, role, slack: !app ? 'none' : socketMode ? 'socket-mode' : 'http' }, 'breakglass is up');
      return port;
    },
    async stop() {
      if (socketStarted) await app?.stop();
      socketStarted = false;
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = null;
      await watchdog.stop();
      await drift?.stop();
      await service.stopSweeping(WORKER_CLOSE_GRACE_MS);
      const closeTimedOut = (what: string) => () => logger.warn({ graceMs: WORKER_CLOSE_GRACE_MS }, `${what} did not close in time (Redis unreachable?); stopping anyway`);
      await Promise.all([
        closeWithin(worker?.close(), WORKER_CLOSE_GRACE_MS, closeTimedOut('the expiry worker')),
        closeWithin(reminderWorker?.close(), WORKER_CLOSE_GRACE_MS, closeTimedOut('the reminder worker')),
      ]);
      await deliveries.stop(SHUTDOWN_DELIVERY_GRACE_MS);
      await expiryQueue.close();
      await reminderQueue.close();
      // Not quit(): with Redis away it would wait for a reconnection that may never come.
      queueConnection.disconnect();
      workerConnection?.disconnect();
      reminderWorkerConnection?.disconnect();
      await providers.closeAll();
      await db.$disconnect();
    },
  };
}
