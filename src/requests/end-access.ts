import type { AccessRequest } from '../db/prisma';
import type { Outcome } from '../domain/outcome';
import { finalStateFor, type EndReason, type RequestState } from '../domain/request-state';
import { humanRequestId, type RequestView } from '../domain/request-view';
import { ProviderError } from '../providers/types';
import { recordAudit, SYSTEM_ACTOR, type AuditAction } from '../services/audit-log';
import { otherActiveHolder, underAccessLock } from './access-locks';
import { accessEnded, effectsFor, shown, type ThreadNotice } from './effect-plans';
import { ExpirySweeper, type SweepOutcome } from './expiry-sweeper';
import { closePendingExtensionsIn } from './extensions';
import { failureText, mayRevoke, notFound, type RequestDeps } from './request-deps';
import { grantTarget } from './request-reads';
import { queueEffects, type MovedRequest, type StoreTransaction } from './request-store';

/** Thrown by the expiry job when the target did not let go; BullMQ retries it with backoff. */
export class RevocationFailedError extends Error {
  override readonly name = 'RevocationFailedError';
}

/** Taking access away: early (Revoke now, I'm done), at expiry (the job, or a sweep of every due grant), and after
 * a failed grant (roll-back). Revocations retry until they hold; failures past the policy's threshold raise alerts. */
export class EndAccess {
  private readonly sweeper: ExpirySweeper;

  constructor(private readonly deps: RequestDeps & { expiryConcurrency?: number }) {
    this.sweeper = new ExpirySweeper({
      db: deps.db,
      store: deps.store,
      providers: deps.providers,
      logger: deps.logger,
      providerConcurrency: deps.expiryConcurrency ?? 20,
      recordFailure: async (request, err) => {
        const error = failureText(err, { forAudit: true });
        await this.recordRevokeFailure(request, error);
        return error;
      },
    });
  }

  /** Ends active access early. The revocation runs in the expiry worker, queued with the change (an effect), so it
   * never waits for Slack. */
  async revokeNow(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView }, string>> {
    const request = await this.deps.reads.findRequest(requestId);
    if (!request) return notFound;
    if (!(await mayRevoke(this.deps, request, actorId))) {
      return { ok: false, code: 'not_allowed', message: 'Only the requester, an approver of this role or a Breakglass admin can revoke this access.' };
    }
    if (request.status === 'APPROVED') return { ok: false, code: 'not_active', message: 'Access is still being granted; try again in a moment.' };
    const moved = await this.deps.store.transaction((tx) => this.revokeEarlyIn(tx, requestId, actorId));
    const view = await this.deps.reads.loadView(requestId);
    if (!moved) {
      const message = view.status === 'REVOKING' ? 'This access is already being revoked.' : `This request is not active (it is ${view.status.toLowerCase()}).`;
      return { ok: false, code: 'not_active', message };
    }
    return { ok: true, view };
  }

  /** The early revocation of one grant inside the caller's store transaction (Revoke now, an incident close): the
   * request moves to REVOKING and its revocation is queued with the change, in the expiry worker, with its retries
   * and alerts. From APPROVED (an incident close while granting), the grant finds the request gone and takes back
   * whatever it made. `endedBy` null: nobody in particular (Slack did not say who archived the channel). Null when
   * the request had moved on. */
  revokeEarlyIn(
    tx: StoreTransaction,
    requestId: string,
    actorId: string,
    {
      from = ['ACTIVE'],
      endedBy = actorId,
      details = {},
      notice = { notice: 'revoke_requested', actorId },
    }: { from?: RequestState[]; endedBy?: string | null; details?: Record<string, unknown>; notice?: ThreadNotice } = {},
  ): Promise<MovedRequest | null> {
    return this.deps.store.moveIn(tx, {
      requestId,
      from,
      to: 'REVOKING',
      data: { endReason: 'revoked', endedBy },
      actor: actorId,
      action: 'REVOKE_REQUESTED',
      details,
      effects: (r) => [effectsFor.scheduleExpiry(r, new Date()), ...shown(r, notice)],
    });
  }

  /** Asks for a failing revocation to be attempted again at once (the alert's Retry now). Anyone may: it can only
   * take access away sooner. */
  async retryRevocation(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView }, string>> {
    const request = await this.deps.reads.findRequest(requestId);
    if (!request) return notFound;
    if (request.status !== 'REVOKING') {
      return { ok: false, code: 'not_revoking', message: `${humanRequestId(request.number)} is not waiting to be revoked any more (it is ${request.status.toLowerCase()}).` };
    }
    await this.deps.store.transaction(async (tx) => {
      await recordAudit(tx, { requestId, actor: actorId, action: 'RETRY_REQUESTED', details: { attempts: request.revokeAttempts } });
      queueEffects(tx, [effectsFor.scheduleExpiry(request, new Date())]);
    });
    return { ok: true, view: await this.deps.reads.loadView(requestId) };
  }

  /** Resolves once no expiry sweep of this process is running or planned, or after `maxWaitMs`: Slack work waits for
   * a burst's revocations, which would otherwise compete with it for the event loop, the CPU and the pool. (Other
   * processes' bursts: burstUnderway, in the Slack runners' claims.) */
  whenSweepsIdle(maxWaitMs: number): Promise<void> {
    return this.sweeper.whenIdle(maxWaitMs);
  }

  /** No new expiry sweeps from this process (a stop); waits at most `graceMs` for the running ones. */
  stopSweeping(graceMs: number): Promise<void> {
    return this.sweeper.stop(graceMs);
  }

  /** The expiry job: revoke when due, verify, record. Idempotent; throws to be retried. When the request is due, the
   * job sweeps every due request with it (see ExpirySweeper); the jobs of the others then find their request ended,
   * or wait for the sweep that has it. */
  async processExpiry(requestId: string, now = new Date()): Promise<{ notBefore?: Date }> {
    if (this.sweeper.recentlyEnded(requestId)) return {};
    // A sweep here has it: its outcome is this job's.
    const swept = await this.sweeper.inProgress(requestId);
    if (swept) return settle(requestId, swept);
    // One read, no approvals (revocation does not need them).
    let request = await this.deps.db.accessRequest.findUnique({ where: { id: requestId } });
    if (!request) return {};
    if (request.status === 'ACTIVE' || request.status === 'APPROVED') {
      if (request.expiresAt && request.expiresAt.getTime() > now.getTime()) return { notBefore: request.expiresAt };
      const outcome = (await this.sweeper.sweep(requestId, now)).get(requestId) ?? (await this.sweeper.inProgress(requestId));
      if (outcome) return settle(requestId, outcome);
      // Not claimed by a sweep here: another process has it, or a transaction held its row. The single path below
      // waits for either and finds out.
      const moved = await this.deps.store.move({
        requestId,
        from: ['ACTIVE', 'APPROVED'],
        to: 'REVOKING',
        data: { endReason: 'expired' },
        actor: SYSTEM_ACTOR,
        action: 'EXPIRY_REACHED',
        effects: () => [],
      });
      request = await this.deps.db.accessRequest.findUnique({ where: { id: requestId } });
      if (!moved && request?.status !== 'REVOKING') return {};
    }
    if (request?.status !== 'REVOKING') return {};
    await this.revokeOnTarget(request);
    return {};
  }

  /** Takes the access away on the target, unless another active Breakglass grant gives the same login the same
   * access (overlapping requests): then the access stays for that one, whose own expiry revokes it. */
  private async revokeOnTarget(request: AccessRequest): Promise<void> {
    const { store } = this.deps;
    const requestId = request.id;
    const target = grantTarget(request);
    const reason = (request.endReason ?? 'expired') as EndReason;
    const action: AuditAction = reason === 'expired' ? 'EXPIRED' : reason === 'revoked' ? 'REVOKED' : 'ROLLED_BACK';
    const endedAt = new Date();
    try {
      const provider = this.deps.providers.get(request.resourceId);
      await underAccessLock(store.transaction.bind(store), request, provider, async (tx) => {
        // A sweep (here or in another process) may have ended it while we waited for the lock: revoke once.
        const current = await tx.accessRequest.findUnique({ where: { id: requestId }, select: { status: true } });
        if (current?.status !== 'REVOKING') return;
        const stillHeldBy = provider.sharing === 'login' ? await otherActiveHolder(tx, request) : null;
        if (stillHeldBy === null) {
          await provider.revoke(target);
          if (await provider.verify(target)) throw new ProviderError('the access is still there after revoking');
        }
        const moved = await store.moveIn(tx, {
          requestId,
          from: ['REVOKING'],
          to: finalStateFor(reason),
          data: { endedAt },
          actor: SYSTEM_ACTOR,
          action,
          details: { login: request.requesterLogin, grant: request.grantName, ...(stillHeldBy !== null ? { keptOnTargetFor: humanRequestId(stillHeldBy) } : {}) },
          effects: (r) => [...accessEnded(r, { grantFailed: reason === 'grant_failed' }), ...(request.revokeFailingSince ? [effectsFor.revokeAlert(r)] : [])],
        });
        if (!moved) return;
        await tx.grant.updateMany({ where: { requestId, status: 'ACTIVE' }, data: { status: 'REVOKED', revokedAt: endedAt } });
        if (request.revokeFailingSince) await tx.revokeAlert.updateMany({ where: { requestId, resolvedAt: null }, data: { resolvedAt: endedAt } });
        await closePendingExtensionsIn(tx, [moved]);
      });
    } catch (err) {
      await this.recordRevokeFailure(request, failureText(err, { forAudit: true }));
      throw new RevocationFailedError(`revoking ${humanRequestId(request.number)} failed: ${failureText(err, { forAudit: true })}`);
    }
  }

  /** Counts the failure; from the policy's threshold on, people are alerted (and the alert kept current). */
  private async recordRevokeFailure(request: AccessRequest, error: string): Promise<void> {
    const requestId = request.id;
    const { afterFailures } = this.deps.policy.revokeAlerts;
    const attempts = await this.deps.store.transaction(async (tx) => {
      const updated = await tx.accessRequest.update({
        where: { id: requestId },
        data: { revokeAttempts: { increment: 1 }, lastRevokeError: error },
        select: { revokeAttempts: true },
      });
      await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'REVOKE_FAILED', details: { error, attempt: updated.revokeAttempts } });
      if (updated.revokeAttempts >= afterFailures) {
        const marked = await tx.accessRequest.updateMany({ where: { id: requestId, revokeFailingSince: null }, data: { revokeFailingSince: new Date() } });
        if (marked.count === 1) await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'REVOKE_ALERTED', details: { attempts: updated.revokeAttempts, error } });
        queueEffects(tx, [effectsFor.revokeAlert(request), effectsFor.home(request)]);
      }
      return updated.revokeAttempts;
    });
    this.deps.metrics?.revocationFailed(request.resourceId);
    this.deps.logger.warn({ requestId, attempts, error }, 'revocation failed; it will be retried');
  }
}

/** A sweep's result for this job's own request: a failure (already recorded) fails the job, so BullMQ retries it. */
function settle(requestId: string, outcome: SweepOutcome): { notBefore?: Date } {
  if (outcome.revoked) return {};
  throw new RevocationFailedError(`revoking request ${requestId} failed: ${outcome.error}`);
}
