import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExpiryScheduler } from '../services/access-service';

export const EXPIRE_JOB = 'expire';
export const RECONCILE_JOB = 'reconcile';
const RECONCILE_SCHEDULER = 'breakglass-reconcile';

export interface ExpireJobData {
  requestId: string;
}

/** Deterministic, so scheduling the same expiry twice (retries, two processes, the reconciler) adds one job. */
export function expiryJobId(requestId: string): string {
  return `expire-${requestId}`;
}

/** Revocation retries never give up: a grant must not outlive its expiry because a target was down for a while. */
const RETRY_FOREVER = Number.MAX_SAFE_INTEGER;
const EXISTS_BATCH = 1000;

/** The alarm clock for expiries. The database stays the source of truth; the reconciler rebuilds lost jobs. */
export class ExpiryQueue implements ExpiryScheduler {
  readonly queue: Queue<ExpireJobData>;

  constructor(
    private readonly connection: Redis,
    name: string,
  ) {
    this.queue = new Queue<ExpireJobData>(name, {
      connection,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: false, attempts: RETRY_FOREVER, backoff: { type: 'revocation' } },
    });
    // Errors of the shared connection are reported once by the infrastructure (OutageReporter); without a listener
    // BullMQ would print each one to stderr.
    this.queue.on('error', () => {});
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

  /** Of these requests, the ones whose expiry job is gone (Redis flushed or lost). One pipelined round trip per
   * thousand requests, so the sweep stays cheap with many active grants. */
  async withoutJobs(requestIds: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (let start = 0; start < requestIds.length; start += EXISTS_BATCH) {
      const batch = requestIds.slice(start, start + EXISTS_BATCH);
      const pipeline = this.connection.pipeline();
      // A job's hash lives at <prefix>:<queue>:<job id>.
      for (const id of batch) pipeline.exists(`${this.queue.qualifiedName}:${expiryJobId(id)}`);
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([err, exists], index) => {
        if (err) throw err;
        if (exists === 0) missing.push(batch[index]);
      });
    }
    return missing;
  }

  /** The periodic sweep that re-creates lost expiry jobs. Upserting is idempotent across processes. */
  async startReconcileSchedule(everyMs: number): Promise<void> {
    await this.queue.upsertJobScheduler(RECONCILE_SCHEDULER, { every: everyMs }, { name: RECONCILE_JOB, data: { requestId: '' }, opts: { attempts: 1, removeOnFail: true } });
  }

  /** False after Redis lost its data (flush, failover to an empty replica): the schedule went with it. */
  async hasReconcileSchedule(): Promise<boolean> {
    return (await this.queue.getJobScheduler(RECONCILE_SCHEDULER)) !== undefined;
  }

  /** True when Redis answers within `timeoutMs`; the watchdog revokes without the queue when it does not. The
   * timeout matters: while Redis is away, a command waits out the client's reconnection attempts first. */
  async reachable(timeoutMs = 1_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const answered = this.connection.ping().then(
      () => true,
      () => false,
    );
    const reachable = await Promise.race([answered, timedOut]);
    clearTimeout(timer);
    return reachable;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
