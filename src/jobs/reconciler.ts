import type { Logger } from 'pino';
import type { AccessService } from '../services/access-service';
import type { ExpiryQueue } from './expiry-queue';

/** The database is the source of truth, Redis only the alarm clock: every request that may hold access gets its
 * expiry job back if Redis lost it (flush, failover, restart without persistence). */
export class Reconciler {
  constructor(
    private readonly service: AccessService,
    private readonly expiryQueue: ExpiryQueue,
    private readonly logger: Logger,
  ) {}

  async run(): Promise<{ checked: number; interrupted: number }> {
    const interrupted = await this.service.failInterruptedGrants();
    if (interrupted) this.logger.warn({ interrupted }, 'rolled back grants interrupted by a stop');
    const due = await this.service.requestsNeedingExpiryJobs();
    for (const { id, runAt } of due) await this.expiryQueue.ensure(id, runAt);
    if (due.length) this.logger.debug({ checked: due.length }, 'reconciled expiry jobs');
    return { checked: due.length, interrupted };
  }
}
