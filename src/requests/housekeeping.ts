import { accessMayExistStates, type RequestState } from '../domain/request-state';
import { SYSTEM_ACTOR } from '../services/audit-log';
import { effectsFor, shown } from './effect-plans';
import type { RequestDeps } from './request-deps';

/** A grant that has not finished this long after quorum was interrupted (the bot stopped mid-grant): it is rolled
 * back and reported, rather than leaving the requester waiting with nothing until the expiry. Far above any
 * provider timeout, so a grant still in flight is never taken for an interrupted one. */
export const INTERRUPTED_GRANT_MS = 2 * 60_000;

/** The reconciler's side of requests: closing what nobody decided, rolling back interrupted grants, and knowing
 * which requests need an expiry job. */
export class Housekeeping {
  constructor(private readonly deps: Pick<RequestDeps, 'db' | 'policy' | 'store'>) {}

  /** Closes a pending request nobody decided within requestTtl; false when it was no longer pending. */
  timeOut(requestId: string): Promise<boolean> {
    const { requestTtlSeconds } = this.deps.policy;
    return this.deps.store.move({
      requestId,
      from: ['PENDING'],
      to: 'TIMED_OUT',
      actor: SYSTEM_ACTOR,
      action: 'TIMED_OUT',
      details: { requestTtlSeconds },
      effects: (moved) => shown(moved, { notice: 'timed_out', requestTtlSeconds }),
    });
  }

  /** Pending requests nobody decided within the policy's requestTtl are closed, so nobody approves a stale request
   * (an incident long over, a reason no longer true). Returns how many. */
  async timeOutStaleRequests(now = new Date()): Promise<number> {
    const stale = await this.deps.db.accessRequest.findMany({
      where: { status: 'PENDING', createdAt: { lt: new Date(now.getTime() - this.deps.policy.requestTtlSeconds * 1000) } },
      select: { id: true },
    });
    let timedOut = 0;
    for (const { id } of stale) if (await this.timeOut(id)) timedOut++;
    return timedOut;
  }

  /** Rolls back grants interrupted mid-way; returns how many. */
  async failInterruptedGrants(now = new Date()): Promise<number> {
    const stuck = await this.deps.db.accessRequest.findMany({
      where: { status: 'APPROVED', decidedAt: { lt: new Date(now.getTime() - INTERRUPTED_GRANT_MS) } },
      select: { id: true },
    });
    let failed = 0;
    for (const { id } of stuck) {
      if (await this.rollBack(id, ['APPROVED'], 'the bot stopped while granting; anything granted is rolled back, please request again')) failed++;
    }
    return failed;
  }

  /** A grant that failed, was interrupted or cannot be used is taken back through the retrying revocation, and the
   * thread says why; the revocation is queued with the change, never behind the Slack notice. Returns false when
   * the request had already moved on (someone else is handling it). */
  rollBack(requestId: string, from: RequestState[], failure: string): Promise<boolean> {
    return this.deps.store.move({
      requestId,
      from,
      to: 'REVOKING',
      data: { endReason: 'grant_failed', failureReason: failure },
      actor: SYSTEM_ACTOR,
      action: 'GRANT_FAILED',
      details: { error: failure },
      effects: (moved) => [effectsFor.scheduleExpiry(moved, new Date()), ...shown(moved, { notice: 'grant_failed' })],
    });
  }

  /** Requests that may hold access on a target, with when their expiry job should run. */
  async requestsNeedingExpiryJobs(): Promise<Array<{ id: string; runAt: Date }>> {
    const rows = await this.deps.db.accessRequest.findMany({
      where: { status: { in: [...accessMayExistStates] } },
      select: { id: true, status: true, expiresAt: true },
    });
    return rows.map((row) => ({ id: row.id, runAt: row.status === 'REVOKING' || !row.expiresAt ? new Date() : row.expiresAt }));
  }
}
