import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExpiryScheduler } from '../services/access-service';

export const EXPIRE_JOB = 'expire';
export const RECONCILE_JOB = 'reconcile';
export const RECONCILE_EVERY_MS = 60_000;

export interface ExpireJobData {
  requestId: string;
}

/** Deterministic, so scheduling the same expiry twice (retries, two processes, the reconciler) adds one job. */
export function expiryJobId(requestId: string): string {
  return `expire-${requestId}`;
}

/** Revocation retries never give up: a grant must not outlive its expiry because a target was down for a while. */
const RETRY_FOREVER = Number.MAX_SAFE_INTEGER;

/** The alarm clock for expiries. The database stays the source of truth; the reconciler rebuilds lost jobs. */
export class ExpiryQueue implements ExpiryScheduler {
  readonly queue: Queue<ExpireJobData>;

  constructor(connection: Redis, name: string) {
    this.queue = new Queue<ExpireJobData>(name, {
      connection,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: false, attempts: RETRY_FOREVER, backoff: { type: 'revocation' } },
    });
  }

  schedule(requestId: string, at: Date): Promise<void> {
    return this.ensure(requestId, at);
  }

  runNow(requestId: string): Promise<void> {
    return this.ensure(requestId, new Date());
  }

  /** Makes sure an expiry job for this request exists and runs no later than `runAt`. */
  async ensure(requestId: string, runAt: Date): Promise<void> {
    const jobId = expiryJobId(requestId);
    const delay = Math.max(0, runAt.getTime() - Date.now());
    const job = await this.queue.getJob(jobId);
    if (!job) {
      await this.queue.add(EXPIRE_JOB, { requestId }, { jobId, delay });
      return;
    }
    const state = await job.getState();
    if (state === 'delayed' && job.timestamp + job.delay > runAt.getTime() + 1000) {
      if (delay === 0) await job.promote();
      else await job.changeDelay(delay);
    } else if (state === 'failed') {
      await job.retry('failed');
    } else if (state === 'completed') {
      await job.remove();
      await this.queue.add(EXPIRE_JOB, { requestId }, { jobId, delay });
    }
  }

  /** The periodic sweep that re-creates lost expiry jobs. Upserting is idempotent across processes. */
  async startReconcileSchedule(): Promise<void> {
    await this.queue.upsertJobScheduler('breakglass-reconcile', { every: RECONCILE_EVERY_MS }, { name: RECONCILE_JOB, data: { requestId: '' }, opts: { attempts: 1, removeOnFail: true } });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
