import type { Logger as BoltLogger } from '@slack/bolt';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AuditSealer } from '../audit/sealer';
import { AuditRoleCheck } from '../audit/role-check';
import type { AppConfig, ProcessRole } from '../config/env';
import { createPrisma, type Db } from '../db/prisma';
import { Deliveries } from '../deliveries';
import { pruneSettledEffects } from '../effects/outbox';
import { DriftSchedule } from '../jobs/drift-schedule';
import { ExpiryQueue } from '../jobs/expiry-queue';
import { QueueWatchdog } from '../jobs/queue-watchdog';
import { Reconciler } from '../jobs/reconciler';
import { ReminderQueue, reminderQueueName } from '../jobs/reminder-queue';
import { BreakglassMetrics } from '../metrics/breakglass-metrics';
import { HealthMetrics } from '../metrics/health-metrics';
import type { Policy } from '../policy/types';
import type { createProvider } from '../providers/create-provider';
import { ProviderRegistry } from '../providers/provider-registry';
import { DEFAULT_SEAL_BOUND_MS } from '../audit/verify';
import { DriftCheck } from '../requests/drift-check';
import { AccessReports } from '../reports/access-reports';
import { DigestSchedule } from '../reports/report-digest';
import { driftReports } from '../requests/drift-reports';
import { RequestReads } from '../requests/request-reads';
import { RequestStore } from '../requests/request-store';
import { AccessService } from '../services/access-service';
import { HomePublisher } from '../services/home-publisher';
import { RequestQueries } from '../services/request-queries';
import { OnCallDirectory } from '../services/on-call';
import { PagerDutyClient } from '../services/pagerduty';
import { UserDirectory } from '../services/user-directory';
import { boltLogger } from '../slack/bolt-logger';
import { credentialsDirectMessage } from '../slack/blocks/notices';
import { WebClientSurface } from '../slack/surface';
import { connectionErrors } from './connection-errors';
import { OutageReporter } from './outage-reporter';

/** The longest a drift check page waits for this process's expiry sweeps to be done. */
const DRIFT_GIVES_WAY_MAX_MS = 60_000;

export interface InfrastructureOptions {
  config: AppConfig;
  policy: Policy;
  logger: Logger;
  /** Builds the provider of each policy resource; benchmarks swap in a no-op provider. */
  createProvider?: typeof createProvider;
  /** Least time between two posts to one channel; Slack allows about one a second. Tests shorten it. */
  slackPostIntervalMs?: number;
  /** The clock of the review digest's schedule and of `/breakglass report` (tests move it). */
  clock?: () => Date;
  /** How often a process looks whether a review digest is due (default a minute). */
  reportCheckEveryMs?: number;
  /** The time policy rotations (schedule:…) are read at; tests move it. */
  onCallClock?: () => Date;
}

/** Everything the Slack app, the HTTP app and the lifecycle share: connections, queues and the services on them. */
export interface Infrastructure {
  role: ProcessRole;
  /** web and all: Bolt runs here, on HTTP or Socket Mode. */
  receivesSlack: boolean;
  /** worker and all: the expiry and reminder workers, the reconcile schedule, the watchdog and the drift check. */
  runsExpiries: boolean;
  policy: Policy;
  db: Db;
  queueConnection: Redis;
  workerConnection: Redis | null;
  reminderWorkerConnection: Redis | null;
  metrics: BreakglassMetrics;
  /** Overdue grants, queues, worker heartbeat and build_info, in `metrics`' registry. */
  health: HealthMetrics;
  slackLogger: BoltLogger;
  surface: WebClientSurface;
  providers: ProviderRegistry;
  expiryQueue: ExpiryQueue;
  reminderQueue: ReminderQueue;
  directory: UserDirectory;
  /** Null without PAGERDUTY_TOKEN. */
  pagerDuty: PagerDutyClient | null;
  reads: RequestReads;
  queries: RequestQueries;
  store: RequestStore;
  service: AccessService;
  reconciler: Reconciler;
  homes: HomePublisher;
  /** The effect runners: grants, Slack messages, jobs and App Home refreshes, delivered from the outbox. */
  deliveries: Deliveries;
  watchdog: QueueWatchdog;
  /** Null unless this process runs expiries and DRIFT_CHECK_EVERY is set. */
  drift: DriftSchedule | null;
  /** Seals the audit events every process commits (every role runs one; one seals at a time) and publishes the head. */
  sealer: AuditSealer;
  /** Warns at start-up when the bot's database role could rewrite the audit trail. */
  auditRole: AuditRoleCheck;
  /** The review reports (`/breakglass report`, the digest). */
  reports: AccessReports;
  /** Null unless the policy has `reports` and this process runs expiries. */
  digest: DigestSchedule | null;
}

/** Builds the shared parts for the role in `config`. Nothing is started here (see lifecycle.ts); the Redis clients
 * and the database pool connect lazily. */
export function createInfrastructure({
  config,
  policy,
  logger,
  createProvider: create,
  slackPostIntervalMs,
  clock,
  reportCheckEveryMs,
  onCallClock,
}: InfrastructureOptions): Infrastructure {
  const { queueName, reconcileEveryMs } = config;
  const role = config.role ?? 'all';
  const receivesSlack = role !== 'worker';
  const runsExpiries = role !== 'web';
  const db = createPrisma(config.databaseUrl, config.expiryConcurrency);
  // Producers fail fast when Redis is away (the reconciler catches up); the worker's blocking
  // connection must retry forever, as BullMQ requires.
  const queueConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const workerConnection = runsExpiries ? new Redis(config.redisUrl, { maxRetriesPerRequest: null }) : null;
  const reminderWorkerConnection = runsExpiries ? new Redis(config.redisUrl, { maxRetriesPerRequest: null }) : null;
  // One warning that says what to check when Redis goes away (not one per reconnection attempt), one line when back.
  const redisOutage = new OutageReporter(logger.child({ module: 'redis' }), 'Redis');
  for (const connection of [queueConnection, workerConnection, reminderWorkerConnection]) {
    connection?.on('error', (err) => redisOutage.failed(() => connectionErrors.explainRedis(err, config.redisUrl), err.message));
    connection?.on('ready', () => redisOutage.recovered());
  }

  const metrics = new BreakglassMetrics(db, policy, logger.child({ module: 'metrics' }));
  const slackLogger = boltLogger(logger.child({ module: 'bolt' }), {
    reporter: new OutageReporter(logger.child({ module: 'slack' }), 'Slack'),
    slackApiUrl: config.slackApiUrl,
  });
  const surface = WebClientSurface.fromToken(config.slackBotToken, {
    slackApiUrl: config.slackApiUrl,
    logger: slackLogger,
    postIntervalMs: slackPostIntervalMs,
    onCallFailed: (method, err) => metrics.slackCallFailed(method, err),
  });
  const providers = new ProviderRegistry(policy, create);
  const expiryQueue = new ExpiryQueue(queueConnection, queueName);
  const reminderQueue = new ReminderQueue(queueConnection, reminderQueueName(queueName));
  const health = new HealthMetrics({
    registry: metrics.registry,
    db,
    logger: logger.child({ module: 'metrics' }),
    queues: () => ({ expiry: expiryQueue.queue, reminder: reminderQueue.queue }),
    commit: config.buildCommit,
    runsExpiries,
    auditSealBoundMs: config.auditSealBoundMs ?? DEFAULT_SEAL_BOUND_MS,
  });
  const pagerDuty = config.pagerDuty?.token ? new PagerDutyClient({ token: config.pagerDuty.token, apiUrl: config.pagerDuty.apiUrl }) : null;
  const cacheMs = config.pagerDuty?.cacheMs;
  const onCall = new OnCallDirectory({
    policy,
    pagerDuty,
    surface,
    logger: logger.child({ module: 'on-call' }),
    now: onCallClock,
    cacheMs: cacheMs === undefined ? undefined : { found: cacheMs, unreachable: cacheMs },
  });
  const directory = new UserDirectory(policy, surface, logger.child({ module: 'directory' }), onCall);
  const reads = new RequestReads({ db, policy });
  const queries = new RequestQueries({ db, policy, directory, loadView: (requestId) => reads.loadView(requestId) });
  // Every state change writes an audit event: the sealer seals it soon after the commit, not at its next tick.
  const store = new RequestStore({
    db,
    logger: logger.child({ module: 'requests' }),
    metrics,
    wake: (pools) => {
      deliveries.wake(pools);
      sealer.wake();
    },
  });
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
  const reports = new AccessReports({ db, policy, directory, now: clock });
  const sealBoundMs = config.auditSealBoundMs ?? DEFAULT_SEAL_BOUND_MS;
  // Every role delivers effects, whichever process committed them.
  const deliveries: Deliveries = new Deliveries({
    db,
    policy,
    logger,
    metrics,
    surface,
    providers,
    reads,
    store,
    queries,
    homes,
    service,
    expiry: expiryQueue,
    reminders: reminderQueue,
    onCallNow: (principals) => directory.onCallNow(principals),
    providerLanes: config.expiryConcurrency,
    livenessMs: config.effectLivenessMs,
    reports,
    sealBoundMs,
  });

  // The safety net for causes nobody foresaw: targets checked against the database, in the processes that expire.
  const drift =
    runsExpiries && config.driftCheckEveryMs
      ? new DriftSchedule(
          new DriftCheck({
            db,
            providers,
            policy,
            logger: logger.child({ module: 'drift' }),
            metrics,
            reports: driftReports(store),
            // Never alongside an expiry burst's sweeps: each page waits until they are done (at most a minute).
            giveWay: () => service.ending.whenSweepsIdle(DRIFT_GIVES_WAY_MAX_MS),
          }),
          logger.child({ module: 'drift' }),
          config.driftCheckEveryMs,
        )
      : null;
  const sealer: AuditSealer = new AuditSealer({
    db,
    logger: logger.child({ module: 'audit-sealer' }),
    boundMs: sealBoundMs,
    targets: { securityChannel: policy.revokeAlerts.securityChannel, headFile: policy.audit?.publishHeadFile ?? null },
    publishEveryMs: config.auditHeadPublishEveryMs === undefined ? 3_600_000 : config.auditHeadPublishEveryMs,
    onSealed: (result) => metrics.auditSealed(result.sealed),
    giveWay: (maxWaitMs) => service.ending.whenSweepsIdle(maxWaitMs),
  });
  const watchdog = new QueueWatchdog(expiryQueue, reconciler, logger.child({ module: 'watchdog' }), reconcileEveryMs);
  const auditRole = new AuditRoleCheck(db, logger.child({ module: 'audit-role' }));
  const digest =
    runsExpiries && policy.reports
      ? new DigestSchedule({
          db,
          settings: policy.reports,
          logger: logger.child({ module: 'reports' }),
          committed: () => deliveries.wake(new Set(['slack'])),
          now: clock,
          checkEveryMs: reportCheckEveryMs,
        })
      : null;

  return {
    role,
    receivesSlack,
    runsExpiries,
    policy,
    db,
    queueConnection,
    workerConnection,
    reminderWorkerConnection,
    metrics,
    health,
    slackLogger,
    surface,
    providers,
    expiryQueue,
    reminderQueue,
    directory,
    pagerDuty,
    reads,
    queries,
    store,
    service,
    reconciler,
    homes,
    deliveries,
    watchdog,
    drift,
    sealer,
    auditRole,
    reports,
    digest,
  };
}

/** One thing the infrastructure owns and how to close it (a lifecycle step with nothing to start: it was built). */
export interface Closer {
  name: string;
  stop(): Promise<void> | void;
}

/** Closes what the infrastructure owns, one lifecycle step each so one failing to close leaves none of the others
 * open. Listed in start order, so they close in reverse, last of all: the queues, then the Redis connections they
 * use, the providers, the database. */
export function closeInfrastructure(infra: Infrastructure): Closer[] {
  return [
    { name: 'database', stop: () => infra.db.$disconnect() },
    { name: 'providers', stop: () => infra.providers.closeAll() },
    {
      name: 'redis connections',
      // Not quit(): with Redis away it would wait for a reconnection that may never come.
      stop: () => {
        infra.queueConnection.disconnect();
        infra.workerConnection?.disconnect();
        infra.reminderWorkerConnection?.disconnect();
      },
    },
    {
      name: 'queues',
      stop: async () => {
        await infra.expiryQueue.close();
        await infra.reminderQueue.close();
      },
    },
  ];
}
