import type { Logger } from 'pino';
import type { ExpiryQueue } from './expiry-queue';
import type { Reconciler } from './reconciler';

/** A timer in each worker process that does not depend on Redis. When the queue is unreachable, expiry jobs cannot
 * fire, so overdue grants are revoked directly. When Redis is back but empty (flushed, failed over), the reconcile
 * schedule is gone too: it is put back and the sweep run at once, which restores every expiry job. Otherwise it does
 * nothing; the BullMQ reconcile job does the sweep. */
export class QueueWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly expiryQueue: ExpiryQueue,
    private readonly reconciler: Reconciler,
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      // One check at a time: a slow target must not pile up overlapping sweeps.
      this.running ??= this.check().finally(() => (this.running = null));
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async check(): Promise<void> {
    try {
      if (!(await this.expiryQueue.reachable())) {
        await this.reconciler.revokeOverdueWithoutQueue();
      } else if (!(await this.expiryQueue.hasReconcileSchedule())) {
        this.logger.warn('the reconcile schedule is missing from Redis (data lost?); restoring it and reconciling now');
        await this.expiryQueue.startReconcileSchedule(this.everyMs);
        await this.reconciler.run();
      }
    } catch (err) {
      this.logger.error({ err }, 'watchdog check failed; trying again on the next tick');
    }
  }
}
