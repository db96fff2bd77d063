import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AccessService } from '../services/access-service';
import { EXPIRE_JOB, RECONCILE_JOB, type ExpireJobData } from './expiry-queue';
import type { Reconciler } from './reconciler';

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 5 * 60_000;

/** Exponential backoff with ±20% jitter, capped, so a target that is down is not hammered in lockstep. */
export function revocationBackoff(attemptsMade: number, random = Math.random): number {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Runs expiry jobs (revoke, verify, summarize) and the periodic reconcile sweep. */
export class ExpiryWorker {
  private readonly worker: Worker<ExpireJobData>;

  constructor(options: { connection: Redis; queueName: string; service: AccessService; reconciler: Reconciler; logger: Logger; concurrency: number; lockMs?: number }) {
    const { service, reconciler, logger } = options;
    this.worker = new Worker<ExpireJobData>(
      options.queueName,
      async (job: Job<ExpireJobData>, token?: string) => {
        if (job.name === RECONCILE_JOB) return reconciler.run();
        if (job.name !== EXPIRE_JOB) throw new Error(`unknown job ${job.name}`);
        const { notBefore } = await service.processExpiry(job.data.requestId);
        if (notBefore) {
          // Picked up early (clock skew, an extension), or a sweep in this process is revoking the request right
          // now: go back to sleep and look again then.
          await job.moveToDelayed(notBefore.getTime(), token);
          throw new DelayedError();
        }
        return undefined;
      },
      {
        connection: options.connection,
        concurrency: options.concurrency,
        // A job whose worker died is picked up again once its lock lapses (BullMQ's stalled-job check).
        ...(options.lockMs ? { lockDuration: options.lockMs, stalledInterval: options.lockMs } : {}),
        settings: { backoffStrategy: (attemptsMade: number) => revocationBackoff(attemptsMade) },
      },
    );
    this.worker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, attempts: job?.attemptsMade }, 'expiry job failed; it will be retried'));
    this.worker.on('error', (err) => logger.error({ err }, 'expiry worker error'));
  }

  waitUntilReady(): Promise<unknown> {
    return this.worker.waitUntilReady();
  }

  /** Running and taking jobs (not closing, not closed). */
  isRunning(): boolean {
    return this.worker.isRunning();
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
