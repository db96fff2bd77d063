import type { Logger } from 'pino';
import type { AccessService } from '../services/access-service';
import type { ExpiryQueue } from './expiry-queue';

export interface ReconcileResult {
  /** Requests that may hold access (and so need an expiry job). */
  checked: number;
  /** Expiry jobs put back or brought forward. */
  restored: number;
  /** Pending requests closed after their time-to-live. */
  timedOut: number;
  /** Grants interrupted by a stop, rolled back. */
  interrupted: number;
  /** Reminders whose job was lost, sent now that they are due. */
  reminded: number;
  /** Delivered effects older than EFFECT_RETENTION_MS removed from the outbox. */
  pruned: number;
}

/** How long delivered effects stay in the outbox (a record of what was sent, for looking into an incident) before
 * the reconciler removes them, a bounded number per run. */
export const EFFECT_RETENTION_MS = 7 * 24 * 3_600_000;

/** The database is the source of truth, Redis only the alarm clock: every request that may hold access gets its
 * expiry job back if Redis lost it (flush, failover, restart without persistence), overdue ones run now, stale
 * pending requests are closed and interrupted grants rolled back. */
export class Reconciler {
  constructor(
    private readonly service: AccessService,
    private readonly expiryQueue: ExpiryQueue,
    private readonly logger: Logger,
    /** Removes delivered effects settled before the given time; returns how many. */
    private readonly pruneEffects: (before: Date) => Promise<number> = async () => 0,
  ) {}

  async run(now = new Date()): Promise<ReconcileResult> {
    const timedOut = await this.service.timeOutStaleRequests(now);
    const interrupted = await this.service.failInterruptedGrants(now);
    const due = await this.service.requestsNeedingExpiryJobs();
    const overdue = due.filter((item) => item.runAt.getTime() <= now.getTime());
    const future = due.filter((item) => item.runAt.getTime() > now.getTime());
    // Overdue ones are always ensured (an existing job may sit in a long backoff); future ones only when missing.
    const missing = new Set(await this.expiryQueue.withoutJobs(future.map((item) => item.id)));
    const toEnsure = [...overdue, ...future.filter((item) => missing.has(item.id))];
    for (const { id, runAt } of toEnsure) await this.expiryQueue.ensure(id, runAt);
    const reminded = await this.service.sendDueReminders(now);
    const pruned = await this.pruneEffects(new Date(now.getTime() - EFFECT_RETENTION_MS));
    const result = { checked: due.length, restored: toEnsure.length, timedOut, interrupted, reminded, pruned };
    if (missing.size || timedOut || interrupted || reminded) this.logger.warn(result, 'reconciled');
    else this.logger.debug(result, 'reconciled');
    return result;
  }

  /** Redis is unreachable, so no expiry job can fire: revoke everything overdue here and now. The database
   * transitions keep this safe when several processes (or the queue, once back) do the same. */
  async revokeOverdueWithoutQueue(now = new Date()): Promise<number> {
    const overdue = (await this.service.requestsNeedingExpiryJobs()).filter((item) => item.runAt.getTime() <= now.getTime());
    let revoked = 0;
    for (const { id } of overdue) {
      try {
        await this.service.processExpiry(id, now);
        revoked++;
      } catch (err) {
        this.logger.warn({ err, requestId: id }, 'revocation without the queue failed; trying again on the next tick');
      }
    }
    if (overdue.length) this.logger.warn({ overdue: overdue.length, revoked }, 'redis unreachable: revoked overdue grants directly');
    return revoked;
  }
}
