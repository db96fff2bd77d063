import type { Logger } from 'pino';
import { createHttp, HttpServer } from './app/http';
import { createInfrastructure } from './app/infrastructure';
import { breakglassSteps, Lifecycle } from './app/lifecycle';
import { createSlackApp } from './app/slack-app';
import type { AppConfig, ProcessRole } from './config/env';
import type { Deliveries } from './deliveries';
import type { ExpiryQueue } from './jobs/expiry-queue';
import type { ReminderQueue } from './jobs/reminder-queue';
import type { Reconciler } from './jobs/reconciler';
import type { BreakglassMetrics } from './metrics/breakglass-metrics';
import type { Policy } from './policy/types';
import type { createProvider } from './providers/create-provider';
import type { AccessService } from './services/access-service';

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
  /** The clock of the review digest's schedule and of `/breakglass report` (tests move it). */
  clock?: () => Date;
  /** How often a process looks whether a review digest is due (default a minute). */
  reportCheckEveryMs?: number;
  /** The time policy rotations (schedule:…) are read at; tests move it. */
  onCallClock?: () => Date;
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

/** Wires the bot, one service shared by the parts its role runs. web: the Slack receiver (HTTP on /slack/events, or
 * Socket Mode when there is an app token), which also queues expiries and reminders. worker: the expiry and reminder workers, the reconcile
 * schedule and the watchdog. all: both. Every role serves /healthz, /readyz and /metrics on PORT. */
export function createBreakglass({
  config,
  policy,
  logger,
  createProvider,
  slackPostIntervalMs,
  migrationsDir,
  followUpMaxWaitMs,
  clock,
  reportCheckEveryMs,
  onCallClock,
}: BreakglassOptions): Breakglass {
  const infra = createInfrastructure({ config, policy, logger, createProvider, slackPostIntervalMs, clock, reportCheckEveryMs, onCallClock });
  const http = createHttp({ config, logger, infra, migrationsDir });
  // After the ops routes: in HTTP mode, Slack's route goes on the same express app.
  const app = infra.receivesSlack ? createSlackApp({ config, logger, infra, http, followUpMaxWaitMs }) : null;
  const socketMode = infra.receivesSlack && Boolean(config.slackAppToken);
  const server = new HttpServer(http, config.port);
  const lifecycle = new Lifecycle(breakglassSteps({ config, logger, infra, app, socketMode, server }), logger);
  const { role, service, expiryQueue, reminderQueue, reconciler, metrics, deliveries } = infra;

  return {
    role,
    service,
    expiryQueue,
    reminderQueue,
    reconciler,
    metrics,
    deliveries,
    async start() {
      await lifecycle.start();
      const port = server.port;
      logger.info({ port, queue: config.queueName, role, slack: !app ? 'none' : socketMode ? 'socket-mode' : 'http' }, 'breakglass is up');
      return port;
    },
    stop: () => lifecycle.stop(),
  };
}
