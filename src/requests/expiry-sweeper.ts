import type { Logger } from 'pino';
import { Prisma, type AccessRequest, type Db } from '../db/prisma';
import { humanRequestId } from '../domain/request-view';
import type { ProviderRegistry } from '../providers/provider-registry';
import { ProviderError, type AccessProvider, type GrantTarget } from '../providers/types';
import { Limiter } from '../concurrency/limiter';
import { ACCESS_LOCK_TIMEOUT_MS, revocationLockKey, TRANSACTION_MAX_WAIT_MS, tryLockAccessKeys } from './access-locks';
import { closePendingExtensionsIn } from './extensions';
import { grantTarget } from './request-reads';
import type { RequestStore, SweptRequest } from './request-store';

/** What became of one request a sweep claimed. */
export type SweepOutcome = { revoked: true } | { revoked: false; error: string };

/** How many due requests one sweep claims at most. */
export const SWEEP_BATCH_SIZE = 500;
/** Requests this process ended recently, so their own (now redundant) expiry jobs finish without a query. */
const RECENTLY_ENDED_LIMIT = 50_000;
/** After a sweep that ended grants, the next sweep of this process starts by itself when more grants fall due within
 * this window: during a burst (thousands of grants ending within the same second) revocation then keeps pace with
 * the clock instead of waiting for BullMQ to deliver each grant's own job (docs/benchmarks.md). */
const FOLLOW_ON_WINDOW_MS = 2_000;
/** Grants that fell due this recently and are still ACTIVE or APPROVED mean a burst is being revoked, in this
 * process or another one (see burstUnderway). Older ones are not a burst but a fault (no worker runs, Redis is gone):
 * the reconciler takes them, and nothing waits for them. */
export const BURST_WINDOW_MS = 3_000;

/**
 * True while a burst of expiries is being revoked by any process: a grant that fell due within BURST_WINDOW_MS is
 * still ACTIVE or APPROVED. A condition for other statements (the Slack runners' claims, src/deliveries.ts), so that
 * asking costs no statement of its own: a `--role=web` process, which never sweeps, then claims no Slack work while
 * a worker revokes, and the two do not compete for shared cores (docs/benchmarks.md). Uses the (status, expiresAt)
 * index. Times are UTC wall-clock, as Prisma stores DateTime.
 */
export const burstUnderway = Prisma.sql`EXISTS (
  SELECT 1 FROM "AccessRequest" due
  WHERE due.status IN ('ACTIVE', 'APPROVED')
    AND due."expiresAt" <= (now() AT TIME ZONE 'UTC')
    AND due."expiresAt" > (now() AT TIME ZONE 'UTC') - ${BURST_WINDOW_MS}::int * interval '1 millisecond')`;

export interface ExpirySweeperDeps {
  db: Db;
  /** Records the outcomes (the one writer of request status), with the ended ones' summaries as effects. */
  store: RequestStore;
  providers: ProviderRegistry;
  logger: Logger;
  /** Provider calls in flight at once across all sweeps of this process (the expiry worker's concurrency). */
  providerConcurrency: number;
  batchSize?: number;
  /** Counts a failed revocation (and alerts from the threshold on); the request stays REVOKING. */
  recordFailure(request: AccessRequest, err: unknown): Promise<string>;
}

/**
 * Batched expiry. When many grants end together, one expiry job revokes every due request at once, in batches of
 * SWEEP_BATCH_SIZE, each batch one transaction:
 *   1. claim: lock the due ACTIVE/APPROVED rows (FOR UPDATE SKIP LOCKED, so concurrent sweeps in any process take
 *      disjoint sets, and anything else that would change those requests waits for this transaction);
 *   2. take their access locks (revocationLockKey) without waiting: a request whose access is locked elsewhere (a
 *      grant in flight, a revoke in another process) is left to its own job, so two lock orders can never deadlock;
 *   3. see who else holds the same access, revoke and verify on the targets with bounded concurrency;
 *   4. record every outcome through the store (RequestStore.recordSweepIn, one statement): revoked ones ACTIVE →
 *      EXPIRED with their Grant rows, one EXPIRED audit event each and their audit summaries as effects; failed ones
 *      → REVOKING with EXPIRY_REACHED, so their own expiry job retries them.
 * Until the commit nothing is visible: a sweep that dies leaves its requests ACTIVE and due, and their jobs or the
 * reconciler revoke them again (revoking is idempotent on every provider). Each request's job stays the safety
 * net: when it runs while a sweep has its request it takes that sweep's outcome (same process) or waits for the
 * row and finds it done (another process).
 */
export class ExpirySweeper {
  /** Outcome undefined: the sweep left the request alone (its access was locked elsewhere) or failed as a whole;
   * the request is still ACTIVE and its own job takes it. */
  private readonly inFlight = new Map<string, Promise<SweepOutcome | undefined>>();
  private readonly recent = new Set<string>();
  /** Sweeps running in this process, and who waits for there to be none (whenIdle). */
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly providerCalls: Limiter;
  // Sweeps record their outcomes side by side (issue 14). They used to take turns in each process (a Limiter(1)),
  // which only served the audit chain head's lock, gone with the sealer. Why concurrent records cannot deadlock:
  // each sweep writes only rows of the requests it claimed (FOR UPDATE SKIP LOCKED: disjoint sets, never waited
  // for) — their AccessRequest rows, their Grant rows, their pending Extension rows — plus new rows (AuditEvent,
  // Effect) that conflict with no one; every other writer of those rows locks the request row first, as the sweep
  // does; the access locks are only tried, never waited for. Sweeps of different processes always ran side by side.
  private readonly batchSize: number;
  /** The follow-on sweep waiting for the next grant to fall due (at most one per process). */
  private followOnTimer: NodeJS.Timeout | null = null;
  private followOnPlanned = false;
  private stopped = false;

  constructor(private readonly deps: ExpirySweeperDeps) {
    this.providerCalls = new Limiter(Math.max(1, deps.providerConcurrency));
    this.batchSize = Math.max(1, deps.batchSize ?? SWEEP_BATCH_SIZE);
  }

  /** The outcome of this process's sweep that is revoking the request right now, if any. */
  inProgress(requestId: string): Promise<SweepOutcome | undefined> | undefined {
    return this.inFlight.get(requestId);
  }

  /** True when this process recorded the request as ended (a final state never changes again). */
  recentlyEnded(requestId: string): boolean {
    return this.recent.has(requestId);
  }

  /** Resolves once no sweep of this process is running or planned to follow, or after `maxWaitMs` (sweeps may follow
   * each other for a long time; what waits must not wait forever). */
  whenIdle(maxWaitMs: number): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxWaitMs);
      const waiters = this.idleWaiters;
      function done() {
        clearTimeout(timer);
        const index = waiters.indexOf(done);
        if (index >= 0) waiters.splice(index, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Revokes the due requests (`ownId` first when it is due) and records the outcome of each. */
  async sweep(ownId: string | null, now = new Date()): Promise<Map<string, SweepOutcome>> {
    this.running++;
    const outcomes = new Map<string, SweepOutcome>();
    const claimedIds: string[] = [];
    let announce: (all: Map<string, SweepOutcome>) => void = () => undefined;
    const announced = new Promise<Map<string, SweepOutcome>>((resolve) => (announce = resolve));
    try {
      const batch = await this.revokeDue(ownId, now, (claimed, claimedUpTo) => {
        for (const request of claimed) {
          claimedIds.push(request.id);
          this.inFlight.set(
            request.id,
            announced.then((all) => all.get(request.id)),
          );
        }
        this.planFollowOn(claimedUpTo);
      });
      if (batch.ended.length) {
        for (const request of batch.ended) outcomes.set(request.id, { revoked: true });
        this.remember(batch.ended.map((request) => request.id));
        this.deps.logger.info({ ended: batch.ended.length, action: 'EXPIRED' }, 'expiry sweep revoked due requests');
      }
      for (const [request, err] of batch.failed) {
        let error: string;
        try {
          error = await this.deps.recordFailure(request, err);
        } catch (recordErr) {
          this.deps.logger.error({ err: recordErr, requestId: request.id }, 'could not record a failed revocation');
          error = err instanceof Error ? err.message : String(err);
        }
        outcomes.set(request.id, { revoked: false, error });
      }
    } catch (err) {
      // The transaction failed (database gone, timeout): nothing of it was recorded, so its requests are still ACTIVE
      // and due; their own jobs take them again.
      this.deps.logger.warn({ err, claimed: claimedIds.length }, 'expiry sweep failed; the expiry jobs will retry its requests');
    } finally {
      announce(outcomes);
      for (const id of claimedIds) this.inFlight.delete(id);
      // Again at the end: the plan made at the claim may have been another sweep's, which found nothing left to
      // claim while this one still held its requests. Only after progress: requests whose access is locked
      // elsewhere are claimed and left alone, and must not make sweeps spin until that lock is free.
      if (outcomes.size > 0) this.planFollowOn(new Date(0));
      this.running--;
      this.releaseIdleWaiters();
    }
    return outcomes;
  }

  /** A sweep is running, or the next one is planned: the burst is not over. */
  private get busy(): boolean {
    return this.running > 0 || this.followOnPlanned;
  }

  private releaseIdleWaiters(): void {
    if (!this.busy) for (const done of [...this.idleWaiters]) done();
  }

  /** No more follow-on sweeps; resolves once the sweeps running in this process are done (or after `graceMs`). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.followOnTimer) clearTimeout(this.followOnTimer);
    this.followOnTimer = null;
    this.followOnPlanned = false;
    this.releaseIdleWaiters();
    await this.whenIdle(graceMs);
  }

  /** Starts the next sweep by itself when the next grant falls due soon (see FOLLOW_ON_WINDOW_MS): right away when
   * this claim left due requests behind (it was full), else when the first one after it is due. */
  private planFollowOn(claimedUpTo: Date): void {
    if (this.stopped || this.followOnPlanned) return;
    this.followOnPlanned = true;
    const plan = async () => {
      const [next] = await this.deps.db.$queryRaw<Array<{ at: Date | null }>>`
        SELECT min("expiresAt") AS at FROM "AccessRequest"
        WHERE status IN ('ACTIVE', 'APPROVED') AND "expiresAt" > ${claimedUpTo.toISOString()}::timestamp`;
      const nextDue = next?.at?.getTime() ?? Infinity;
      if (this.stopped || nextDue > Date.now() + FOLLOW_ON_WINDOW_MS) {
        this.followOnPlanned = false;
        this.releaseIdleWaiters();
        return;
      }
      this.followOnTimer = setTimeout(
        () => {
          this.followOnTimer = null;
          if (!this.stopped) {
            // Failures are recorded by the sweep itself; their own jobs retry them. Started before the plan is
            // cleared, so the process never looks idle in between.
            void this.sweep(null);
          }
          this.followOnPlanned = false;
          this.releaseIdleWaiters();
        },
        Math.max(0, nextDue - Date.now()),
      );
    };
    plan().catch((err) => {
      this.followOnPlanned = false;
      this.releaseIdleWaiters();
      this.deps.logger.warn({ err }, 'could not plan the next expiry sweep; the expiry jobs will run it');
    });
  }

  /** One batch, one transaction (see the class comment). `onClaimed` hears which requests it holds as soon as it
   * holds them. */
  private async revokeDue(
    ownId: string | null,
    now: Date,
    onClaimed: (claimed: AccessRequest[], claimedUpTo: Date) => void,
  ): Promise<{ ended: AccessRequest[]; failed: Array<[AccessRequest, unknown]> }> {
    const ended: AccessRequest[] = [];
    const failed: Array<[AccessRequest, unknown]> = [];
    await this.deps.store.transaction(
      async (tx) => {
        const claimedUpTo = new Date(Math.max(now.getTime(), Date.now()));
        const at = claimedUpTo.toISOString();
        // The rows themselves come back with the claim (one round trip, no second read through the client).
        const claimed = await tx.$queryRaw<AccessRequest[]>`
            WITH own AS (
              SELECT id FROM "AccessRequest"
              WHERE id = ${ownId}::uuid AND status IN ('ACTIVE', 'APPROVED') AND ("expiresAt" IS NULL OR "expiresAt" <= ${at}::timestamp)
              FOR UPDATE SKIP LOCKED),
            due AS (
              SELECT id FROM "AccessRequest"
              WHERE status IN ('ACTIVE', 'APPROVED') AND "expiresAt" <= ${at}::timestamp AND id IS DISTINCT FROM ${ownId}::uuid
              ORDER BY "expiresAt" LIMIT ${this.batchSize - 1}
              FOR UPDATE SKIP LOCKED)
            SELECT r.*, r.id::text AS id, r.status::text AS status FROM "AccessRequest" r
            WHERE r.id IN (SELECT id FROM own UNION ALL SELECT id FROM due)`;
        if (claimed.length === 0) return;
        const claimedIds = claimed.map((request) => request.id);
        // A full batch left due requests behind: the follow-on sweep takes them at once.
        onClaimed(claimed, claimed.length >= this.batchSize ? new Date(0) : claimedUpTo);

        const providers = new Map<string, AccessProvider>();
        const lockKeys = new Map<string, string>();
        for (const request of claimed) {
          try {
            const provider = this.deps.providers.get(request.resourceId);
            providers.set(request.id, provider);
            lockKeys.set(request.id, revocationLockKey(request, provider));
          } catch (err) {
            failed.push([request, err]); // no provider for it any more: recorded as a failed revocation
          }
        }
        const lockedKeys = await tryLockAccessKeys(tx, [...new Set(lockKeys.values())]);
        // Access locked elsewhere: left untouched (still ACTIVE) for its own job, which waits for that lock.
        const ours = claimed.filter((request) => lockedKeys.has(lockKeys.get(request.id) ?? ''));
        const heldBy = await this.otherHolders(tx, ours, claimedIds);

        const revoked: Array<{ request: AccessRequest; keptOnTargetFor: string | null }> = [];
        await Promise.all(
          ours.map(async (request) => {
            const provider = providers.get(request.id)!;
            const keptOnTargetFor = provider.sharing === 'login' ? (heldBy.get(request.id) ?? null) : null;
            try {
              if (keptOnTargetFor === null) await this.providerCalls.run(() => this.revokeAndVerify(provider, grantTarget(request)));
              revoked.push({ request, keptOnTargetFor });
            } catch (err) {
              failed.push([request, err]);
            }
          }),
        );

        const outcomes: SweptRequest[] = [
          ...revoked.map(({ request, keptOnTargetFor }) => ({ request, revoked: true as const, keptOnTargetFor })),
          ...failed.map(([request]) => ({ request, revoked: false as const })),
        ];
        const moved = await this.deps.store.recordSweepIn(tx, outcomes, new Date());
        for (const { request } of revoked) if (moved.has(request.id)) ended.push(request);
        await closePendingExtensionsIn(tx, ended);
      },
      { timeout: ACCESS_LOCK_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS },
    );
    return { ended, failed };
  }

  /** For each request, another ACTIVE request (not in this batch) that gives the same login the same access. */
  private async otherHolders(tx: Prisma.TransactionClient, requests: AccessRequest[], batchIds: string[]): Promise<Map<string, string>> {
    if (requests.length === 0) return new Map();
    const rows = await tx.$queryRaw<Array<{ id: string; heldBy: number | null }>>`
      SELECT c.id::text AS id,
        (SELECT o.number FROM "AccessRequest" o
         WHERE o."resourceId" = c."resourceId" AND o."grantName" = c."grantName" AND o."requesterLogin" = c."requesterLogin"
           AND o.status = 'ACTIVE' AND o.id <> ALL(${batchIds}::uuid[])
         LIMIT 1) AS "heldBy"
      FROM "AccessRequest" c
      WHERE c.id = ANY(${requests.map((request) => request.id)}::uuid[])`;
    return new Map(rows.filter((row) => row.heldBy !== null).map((row) => [row.id, humanRequestId(row.heldBy!)]));
  }

  private async revokeAndVerify(provider: AccessProvider, target: GrantTarget): Promise<void> {
    await provider.revoke(target);
    if (await provider.verify(target)) throw new ProviderError('the access is still there after revoking');
  }

  private remember(ids: string[]): void {
    for (const id of ids) this.recent.add(id);
    // A Set iterates in insertion order: drop the oldest.
    for (const id of this.recent) {
      if (this.recent.size <= RECENTLY_ENDED_LIMIT) break;
      this.recent.delete(id);
    }
  }
}
