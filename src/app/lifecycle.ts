import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/env';
import { ExpiryWorker } from '../jobs/expiry-worker';
import { reminderQueueName } from '../jobs/reminder-queue';
import { ReminderWorker } from '../jobs/reminder-worker';
import { checkProviderChanges, presentOnTargetNow } from '../requests/provider-changes';
import { checkPagerDutySchedules } from '../services/pagerduty-check';
import type { HttpServer } from './http';
import { closeInfrastructure, type Infrastructure } from './infrastructure';
import { preflightStep } from './preflight';

/** How long a shutdown waits for effects in delivery (Slack posts, grants); what is not done by then stays in the
 * outbox for the next process (a post may then go out twice; see docs). */
const SHUTDOWN_DELIVERY_GRACE_MS = 5_000;
/** How long a shutdown waits for a BullMQ worker to close. With Redis unreachable or reconnecting, a worker's close
 * can wait forever for its blocked fetch; its jobs stay in Redis and are picked up again once their locks lapse. */
const WORKER_CLOSE_GRACE_MS = 5_000;
/** The longest a stop takes, steps that wait one after another: expiry sweeps, the workers (together), the audit
 * sealer's last seal (5 s, sealer.ts) and deliveries. Orchestrators must wait longer before SIGKILL: compose's
 * stop_grace_period and Kubernetes' terminationGracePeriodSeconds (checked in test/unit/deployment-files.test.ts). */
export const SHUTDOWN_BOUND_MS = WORKER_CLOSE_GRACE_MS + WORKER_CLOSE_GRACE_MS + 5_000 + SHUTDOWN_DELIVERY_GRACE_MS;
/** How often a running expiry worker sets breakglass_worker_heartbeat_timestamp_seconds. */
const WORKER_HEARTBEAT_MS = 5_000;

/** One part of the process that starts and stops. Either half may be absent: nothing to do then. */
export interface LifecycleStep {
  name: string;
  start?(): Promise<void> | void;
  /** Runs even when `start` never ran or failed part way (see Lifecycle.stop), so it stops only what is running. */
  stop?(): Promise<void> | void;
}

/** Steps started in order and stopped in reverse, so each step starts after, and stops before, the ones it uses. */
export class Lifecycle {
  constructor(
    private readonly steps: readonly LifecycleStep[],
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  /** Starts the steps one after another. A step that fails ends the start with its error; the caller then stops. */
  async start(): Promise<void> {
    for (const step of this.steps) await step.start?.();
  }

  /** Stops every step, last first, including those a failed start never reached: a process that could not start
   * still holds connections (main.ts stops it before exiting). A step that fails to stop is logged and the rest
   * still stop; then this rejects with the first failure, so the caller knows the shutdown was unclean. */
  async stop(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of [...this.steps].reverse()) {
      try {
        await step.stop?.();
      } catch (err) {
        failures.push(err);
        this.logger.error({ err, step: step.name }, `${step.name} failed to stop; stopping the rest`);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}

export interface BreakglassSteps {
  config: AppConfig;
  logger: Logger;
  infra: Infrastructure;
  /** The Bolt app, when this role receives Slack. */
  app: App | null;
  /** Whether `app` takes Slack's events over a Socket Mode connection rather than HTTP. */
  socketMode: boolean;
  server: HttpServer;
}

/** The bot's steps in start order. Starts: the Slack token check, deliveries, the workers, the catch-up reconcile and
 * its schedule, the watchdog and drift timers, then HTTP and Socket Mode last, so no Slack request or probe arrives
 * before the rest is up. Stops in reverse: Slack and HTTP first (nothing new comes in), then the timers and sweeps
 * that start work, the workers, deliveries, and last what the infrastructure owns. */
export function breakglassSteps({ config, logger, infra, app, socketMode, server }: BreakglassSteps): LifecycleStep[] {
  const { deliveries, service, reconciler, expiryQueue, watchdog, drift, runsExpiries, sealer } = infra;
  return [
    ...closeInfrastructure(infra),
    // PostgreSQL, Redis and the Slack token, each tried once: a failure says what was tried, why and what to do.
    preflightStep(config, logger),
    infra.auditRole,
    {
      name: 'pagerduty schedules',
      // The policy's pagerduty: approvers must name schedules PagerDuty has; PagerDuty unreachable only warns.
      start: () => checkPagerDutySchedules({ policy: infra.policy, pagerDuty: infra.pagerDuty, logger: logger.child({ module: 'on-call' }) }),
    },
    {
      name: 'provider changes',
      // Before anything is delivered: no grant is revoked (or left) under a provider that changed without a decision.
      start: async () => {
        await checkProviderChanges({
          db: infra.db,
          store: infra.store,
          current: (resourceId) => infra.providers.fingerprint(resourceId),
          setting: config.providerChange ?? 'refuse',
          presentNow: (requestId) => presentOnTargetNow(infra.db, infra.providers, requestId, logger),
          logger: logger.child({ module: 'provider-changes' }),
        });
      },
    },
    // The token was checked by the preflight (a bad one stops every role at start, not at the first summary); Bolt
    // checks it again on its own.
    ...(app ? [{ name: 'slack app', start: () => app.init() }] : []),
    { name: 'deliveries', start: () => deliveries.start(), stop: () => deliveries.stop(SHUTDOWN_DELIVERY_GRACE_MS) },
    // Stops after the workers and sweeps (their last events are sealed) and before deliveries (the head it publishes
    // at shutdown may still go out from here).
    { name: 'audit sealer', start: () => sealer.start(), stop: () => sealer.stop() },
    ...(runsExpiries ? [workers(config, logger, infra)] : []),
    // In every role, before the workers close: no more follow-on sweeps, and the running ones (whose outcome expiry
    // jobs wait for) get the same grace as the workers.
    { name: 'expiry sweeps', stop: () => service.stopSweeping(WORKER_CLOSE_GRACE_MS) },
    ...(runsExpiries
      ? [
          {
            name: 'reconcile',
            // Catch up at once with whatever happened while no bot was running, then every minute.
            start: async () => {
              await reconciler.run();
              await expiryQueue.startReconcileSchedule(config.reconcileEveryMs);
            },
          },
          // After deliveries: a digest due (or missed while no bot ran) is committed at once and goes out.
          { name: 'review digest', start: () => infra.digest?.start(), stop: () => infra.digest?.stop() },
          {
            name: 'watchdog and drift check',
            start: () => {
              watchdog.start();
              drift?.start();
            },
            stop: async () => {
              await watchdog.stop();
              await drift?.stop();
            },
          },
        ]
      : []),
    server,
    ...(app && socketMode ? [socketModeStep(app)] : []),
  ];
}

/** The expiry and reminder workers, created at start: they connect to Redis and take jobs as soon as they exist. */
function workers(config: AppConfig, logger: Logger, infra: Infrastructure): LifecycleStep {
  const { service, reconciler } = infra;
  let worker: ExpiryWorker | null = null;
  let reminderWorker: ReminderWorker | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  const beat = () => {
    if (worker?.isRunning()) infra.health.workerBeat();
  };
  return {
    name: 'workers',
    start: async () => {
      worker = new ExpiryWorker({
        connection: infra.workerConnection!,
        queueName: config.queueName,
        service,
        reconciler,
        logger: logger.child({ module: 'worker' }),
        lockMs: config.jobLockMs,
        concurrency: config.expiryConcurrency,
      });
      await worker.waitUntilReady();
      reminderWorker = new ReminderWorker({
        connection: infra.reminderWorkerConnection!,
        queueName: reminderQueueName(config.queueName),
        service,
        logger: logger.child({ module: 'reminders' }),
      });
      await reminderWorker.waitUntilReady();
      beat();
      heartbeat = setInterval(beat, WORKER_HEARTBEAT_MS);
      heartbeat.unref();
    },
    stop: async () => {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      const closeTimedOut = (what: string) => () => logger.warn({ graceMs: WORKER_CLOSE_GRACE_MS }, `${what} did not close in time (Redis unreachable?); stopping anyway`);
      await Promise.all([
        closeWithin(worker?.close(), WORKER_CLOSE_GRACE_MS, closeTimedOut('the expiry worker')),
        closeWithin(reminderWorker?.close(), WORKER_CLOSE_GRACE_MS, closeTimedOut('the reminder worker')),
      ]);
    },
  };
}

/** Connects Bolt to Slack over Socket Mode; last to start, so events arrive only once everything is up. */
function socketModeStep(app: App): LifecycleStep {
  let started = false;
  return {
    name: 'socket mode',
    start: async () => {
      await app.start();
      started = true;
    },
    stop: async () => {
      if (started) await app.stop();
      started = false;
    },
  };
}

/** Waits for `closing` at most `graceMs`; a stop must not hang on Redis. */
async function closeWithin(closing: Promise<void> | undefined, graceMs: number, onTimeout: () => void): Promise<void> {
  if (!closing) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
  const outcome = await Promise.race([closing.then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') onTimeout();
}
