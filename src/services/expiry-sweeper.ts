import type { Logger } from 'pino';
import type { AccessRequest, Db, Prisma } from '../db/prisma';
import { humanRequestId } from '../domain/request-view';
import type { ProviderRegistry } from '../providers/provider-registry';
import { ProviderError, type AccessProvider, type GrantTarget } from '../providers/types';

/** What became of one request a sweep claimed. */
export type SweepOutcome = { revoked: true } | { revoked: false; error: string };

/** How many due requests one sweep claims at most. */
export const SWEEP_BATCH_SIZE = 500;
/** How many claimed requests share one locked transaction: its commit releases their overlap locks and makes their
 * EXPIRED state visible, so a slow target delays at most this many grants' records. Each chunk's record takes the
 * audit chain's lock once, so fewer, larger chunks mean fewer hand-offs of that lock (100 → 500: see
 * docs/benchmarks.md). */
const LOCK_CHUNK_SIZE = 500;
/** Requests this process ended recently, so their own (now redundant) expiry jobs finish without a query. */
const RECENTLY_ENDED_LIMIT = 50_000;
/** Same bound as the single path's transaction: long enough for any provider call. */
const LOCKED_TRANSACTION_TIMEOUT_MS = 5 * 60_000;
const TRANSACTION_MAX_WAIT_MS = 30_000;
/** After a sweep that ended grants, the next sweep of this process starts by itself when more grants fall due within
 * this window: during a burst (thousands of grants ending within the same second) revocation then keeps pace with
 * the clock instead of waiting for BullMQ to deliver each grant's own job (docs/benchmarks.md). */
const FOLLOW_ON_WINDOW_MS = 2_000;

/** The advisory-lock key that serializes grant, overlap check and revoke of one piece of access. Providers whose
 * requests share access (`sharing: 'login'`) lock the access itself, [resource, grant, login], as `activate` does;
 * others lock the request, so two revocations of it never run side by side. */
export function revocationLockKey(request: Pick<AccessRequest, 'id' | 'resourceId' | 'grantName' | 'requesterLogin'>, provider: AccessProvider): string {
  return provider.sharing === 'login' ? JSON.stringify([request.resourceId, request.grantName, request.requesterLogin]) : JSON.stringify(['request', request.id]);
}

/** Takes transaction-level advisory locks on `keys` in one global order (by lock id), so two transactions locking
 * overlapping sets cannot deadlock on each other. */
export async function lockAccessKeys(tx: Prisma.TransactionClient, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.$queryRaw`
    SELECT count(pg_advisory_xact_lock(lock_id))::int AS locked
    FROM (SELECT DISTINCT hashtextextended(key, 0) AS lock_id FROM unnest(${[...keys]}::text[]) AS key ORDER BY 1) AS ordered`;
}

/** Runs `work` on each item with at most `limit` running at once (shared across callers). */
class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** `first`: go before the work already waiting (FIFO otherwise). */
  async run<T>(work: () => Promise<T>, options: { first?: boolean } = {}): Promise<T> {
    // A freed slot is handed straight to the next waiter (running stays the same), so a newcomer arriving between
    // the release and the waiter's wake-up cannot take it as well and exceed the limit.
    if (this.running >= this.limit) await new Promise<void>((resolve) => (options.first ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
    else this.running++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export interface ExpirySweeperDeps {
  db: Db;
  providers: ProviderRegistry;
  logger: Logger;
  /** Provider calls in flight at once across all sweeps of this process (the expiry worker's concurrency). */
  providerConcurrency: number;
  batchSize?: number;
  grantTarget(request: AccessRequest): GrantTarget;
  /** Counts a failed revocation (and alerts from the threshold on); the request stays REVOKING. */
  recordFailure(request: AccessRequest, err: unknown): Promise<string>;
  /** The requests were revoked and recorded as EXPIRED at `endedAt`: count them, tell Slack in the background. */
  ended(requests: AccessRequest[], endedAt: Date): void;
}

/**
 * Batched expiry. When many grants end together, one expiry job claims every due request at once (SKIP LOCKED, so
 * concurrent sweeps in any process take disjoint sets), moves them to REVOKING with their EXPIRY_REACHED events in
 * one statement, revokes each on its target with bounded concurrency, and records the successful ones as EXPIRED
 * (with their Grant rows and audit events) in one statement per chunk. A grant whose revoke fails stays REVOKING
 * with its failure recorded; its own expiry job, which still exists for every request, retries it. Each request's
 * job stays the safety net: when it runs after a sweep took its request, it waits for that sweep (same process),
 * or takes the request's lock and finds it done (another process), or retries it (the sweep failed or died).
 */
export class ExpirySweeper {
  /** Outcome undefined: another process ended the request while this sweep waited for its locks. */
  private readonly inFlight = new Map<string, Promise<SweepOutcome | undefined>>();
  private readonly recent = new Set<string>();
  /** Sweeps running in this process, and who waits for there to be none (whenIdle). */
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly providerCalls: Semaphore;
  /** The sweeps' statements that add to the audit chain (claims, records), one at a time per process: queued here
   * rather than in PostgreSQL, where each waiting statement would hold a snapshot that keeps the chain head's dead
   * row versions from being pruned, making every later audit insert slower (docs/benchmarks.md). */
  private readonly chainWrites = new Semaphore(1);
  private readonly batchSize: number;
  /** The follow-on sweep waiting for the next grant to fall due (at most one per process). */
  private followOnTimer: NodeJS.Timeout | null = null;
  private followOnPlanned = false;
  private stopped = false;

  constructor(private readonly deps: ExpirySweeperDeps) {
    this.providerCalls = new Semaphore(Math.max(1, deps.providerConcurrency));
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

  /** Claims the due requests (`ownId` first when it is due), revokes them and records the outcome of each. */
  async sweep(ownId: string | null, now = new Date()): Promise<Map<string, SweepOutcome>> {
    this.running++;
    let claimed: AccessRequest[] = [];
    try {
      let claimedUpTo: Date;
      ({ claimed, claimedUpTo } = await this.claim(ownId, now));
      if (claimed.length === 0) return new Map();
      this.planFollowOn(claimedUpTo);
      const outcomes = this.revokeClaimed(claimed);
      for (const request of claimed) this.inFlight.set(request.id, outcomes.then((all) => all.get(request.id)));
      return await outcomes;
    } finally {
      for (const request of claimed) this.inFlight.delete(request.id);
      this.running--;
      this.releaseIdleWaiters();
    }
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
      this.followOnTimer = setTimeout(() => {
        this.followOnTimer = null;
        if (!this.stopped) {
          // Failures are recorded by the sweep itself; their own jobs retry them. Started before the plan is
          // cleared, so the process never looks idle in between.
          this.sweep(null).catch((err) => this.deps.logger.warn({ err }, 'follow-on expiry sweep failed; the expiry jobs will retry'));
        }
        this.followOnPlanned = false;
        this.releaseIdleWaiters();
      }, Math.max(0, nextDue - Date.now()));
    };
    plan().catch((err) => {
      this.followOnPlanned = false;
      this.releaseIdleWaiters();
      this.deps.logger.warn({ err }, 'could not plan the next expiry sweep; the expiry jobs will run it');
    });
  }

  /** ACTIVE/APPROVED → REVOKING for every due request nobody else is claiming, with its audit event, atomically in
   * one statement (no transaction left open while the audit chain's lock is held). */
  private async claim(ownId: string | null, now: Date): Promise<{ claimed: AccessRequest[]; claimedUpTo: Date }> {
    const details = JSON.stringify({ from: ['ACTIVE', 'APPROVED'], to: 'REVOKING' });
    let claimedUpTo = now;
    const rows = await this.chainWrites.run(() => {
      // Due as of now, not as of when the job started: a claim that waited its turn takes what fell due meanwhile
      // (one full claim instead of several small ones when many grants end within the same second).
      claimedUpTo = new Date(Math.max(now.getTime(), Date.now()));
      const at = claimedUpTo.toISOString();
      return this.deps.db.$queryRaw<Array<{ id: string }>>`
      WITH own AS (
        SELECT id FROM "AccessRequest"
        WHERE id = ${ownId}::uuid AND status IN ('ACTIVE', 'APPROVED') AND ("expiresAt" IS NULL OR "expiresAt" <= ${at}::timestamp)
        FOR UPDATE SKIP LOCKED),
      due AS (
        SELECT id FROM "AccessRequest"
        WHERE status IN ('ACTIVE', 'APPROVED') AND "expiresAt" <= ${at}::timestamp AND id IS DISTINCT FROM ${ownId}::uuid
        ORDER BY "expiresAt" LIMIT ${this.batchSize - 1}
        FOR UPDATE SKIP LOCKED),
      moved AS (
        UPDATE "AccessRequest" SET status = 'REVOKING', "endReason" = 'expired'
        WHERE id IN (SELECT id FROM own UNION ALL SELECT id FROM due)
        RETURNING id),
      audit AS (
        INSERT INTO "AuditEvent" ("requestId", actor, action, details, "createdAt")
        SELECT id, 'system', 'EXPIRY_REACHED', ${details}::jsonb, now() AT TIME ZONE 'UTC' FROM moved)
      SELECT id::text AS id FROM moved`;
    });
    if (rows.length === 0) return { claimed: [], claimedUpTo };
    this.deps.logger.info({ claimed: rows.length, to: 'REVOKING', action: 'EXPIRY_REACHED' }, 'expiry sweep claimed due requests');
    // A full claim left due requests behind: the follow-on sweep takes them at once.
    if (rows.length >= this.batchSize) claimedUpTo = new Date(0);
    return { claimed: await this.deps.db.accessRequest.findMany({ where: { id: { in: rows.map((row) => row.id) } } }), claimedUpTo };
  }

  /** Never rejects: whatever goes wrong becomes the failed outcome of the requests it concerns. */
  private async revokeClaimed(claimed: AccessRequest[]): Promise<Map<string, SweepOutcome>> {
    const outcomes = new Map<string, SweepOutcome>();
    for (let start = 0; start < claimed.length; start += LOCK_CHUNK_SIZE) {
      const chunk = claimed.slice(start, start + LOCK_CHUNK_SIZE);
      let finished: Map<string, SweepOutcome>;
      let failures = new Map<string, unknown>();
      let endedAt = new Date();
      try {
        ({ finished, failures, endedAt } = await this.revokeChunk(chunk));
      } catch (err) {
        // The transaction itself failed (database gone, timeout): nothing in it was recorded as ended.
        finished = new Map();
        failures = new Map(chunk.map((request) => [request.id, err]));
      }
      for (const [id, outcome] of finished) outcomes.set(id, outcome);
      const ended = [...finished].filter(([, outcome]) => outcome.revoked).map(([id]) => id);
      if (ended.length) {
        this.remember(ended);
        this.deps.logger.info({ ended: ended.length, action: 'EXPIRED' }, 'expiry sweep recorded revocations');
        this.deps.ended(chunk.filter((request) => finished.get(request.id)?.revoked), endedAt);
      }
      for (const request of chunk) {
        if (!failures.has(request.id)) continue;
        const err = failures.get(request.id);
        let error: string;
        try {
          error = await this.deps.recordFailure(request, err);
        } catch (recordErr) {
          this.deps.logger.error({ err: recordErr, requestId: request.id }, 'could not record a failed revocation');
          error = err instanceof Error ? err.message : String(err);
        }
        outcomes.set(request.id, { revoked: false, error });
      }
    }
    return outcomes;
  }

  /** One locked transaction: overlap locks in order, re-check (another process may have finished some meanwhile),
   * revoke and verify on the targets, then record the successful ones together, audit last. */
  private async revokeChunk(chunk: AccessRequest[]): Promise<{ finished: Map<string, SweepOutcome>; failures: Map<string, unknown>; endedAt: Date }> {
    const finished = new Map<string, SweepOutcome>();
    const failures = new Map<string, unknown>();
    const providers = new Map<string, AccessProvider>();
    const lockable: AccessRequest[] = [];
    for (const request of chunk) {
      try {
        providers.set(request.id, this.deps.providers.get(request.resourceId));
        lockable.push(request);
      } catch (err) {
        failures.set(request.id, err);
      }
    }
    let endedAt = new Date();
    if (lockable.length === 0) return { finished, failures, endedAt };
    let recorded = false;
    try {
      await this.deps.db.$transaction(
        async (tx) => {
          await lockAccessKeys(
            tx,
            lockable.map((request) => revocationLockKey(request, providers.get(request.id)!)),
          );
          const ids = lockable.map((request) => request.id);
          // Still REVOKING now that we hold the locks, and who else holds the same access (an ACTIVE request).
          const current = await tx.$queryRaw<Array<{ id: string; heldBy: number | null }>>`
            SELECT c.id::text AS id,
              (SELECT o.number FROM "AccessRequest" o
               WHERE o."resourceId" = c."resourceId" AND o."grantName" = c."grantName" AND o."requesterLogin" = c."requesterLogin"
                 AND o.status = 'ACTIVE' AND o.id <> c.id
               LIMIT 1) AS "heldBy"
            FROM "AccessRequest" c
            WHERE c.id = ANY(${ids}::uuid[]) AND c.status = 'REVOKING'`;
          const stillRevoking = new Map(current.map((row) => [row.id, row.heldBy]));
          const revoked: Array<{ id: string; details: string }> = [];
          await Promise.all(
            lockable.map(async (request) => {
              if (!stillRevoking.has(request.id)) return; // finished by someone else while we waited for the locks
              const provider = providers.get(request.id)!;
              const heldBy = provider.sharing === 'login' ? stillRevoking.get(request.id) ?? null : null;
              try {
                if (heldBy === null) await this.providerCalls.run(() => this.revokeAndVerify(provider, this.deps.grantTarget(request)));
                revoked.push({
                  id: request.id,
                  details: JSON.stringify({
                    from: ['REVOKING'],
                    to: 'EXPIRED',
                    login: request.requesterLogin,
                    grant: request.grantName,
                    ...(heldBy !== null ? { keptOnTargetFor: humanRequestId(heldBy) } : {}),
                  }),
                });
              } catch (err) {
                failures.set(request.id, err);
              }
            }),
          );
          if (revoked.length === 0) return;
          // Conditional on REVOKING like every transition, and one statement (state, Grant rows and audit events
          // commit together). It runs on its own pooled connection, committed by the server right after it, while
          // this transaction keeps the overlap locks until the records are visible: the audit chain's lock is then
          // never held across a round trip to this process, whose event loop may be busy.
          // Before any claim still waiting: a claimed grant is closer to done than an unclaimed one, and recording
          // it right away keeps each grant's lag to its own claim and record instead of every claim of the burst.
          const moved = await this.chainWrites.run(() => {
            endedAt = new Date();
            return this.deps.db.$queryRaw<Array<{ id: string }>>`
            WITH done AS (
              SELECT * FROM unnest(${revoked.map((row) => row.id)}::uuid[], ${revoked.map((row) => row.details)}::text[]) AS d(id, details)),
            moved AS (
              UPDATE "AccessRequest" r SET status = 'EXPIRED', "endedAt" = ${endedAt.toISOString()}::timestamp
              FROM done WHERE r.id = done.id AND r.status = 'REVOKING'
              RETURNING r.id, done.details),
            grants AS (
              UPDATE "Grant" g SET status = 'REVOKED', "revokedAt" = ${endedAt.toISOString()}::timestamp
              FROM moved WHERE g."requestId" = moved.id AND g.status = 'ACTIVE'),
            audit AS (
              INSERT INTO "AuditEvent" ("requestId", actor, action, details, "createdAt")
              SELECT id, 'system', 'EXPIRED', details::jsonb, ${endedAt.toISOString()}::timestamp FROM moved)
            SELECT id::text AS id FROM moved`;
          }, { first: true });
          recorded = true;
          for (const { id } of moved) finished.set(id, { revoked: true });
        },
        { timeout: LOCKED_TRANSACTION_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS },
      );
    } catch (err) {
      // The records are committed; only the end of the lock-holding transaction failed (its locks go with it).
      if (!recorded) throw err;
      this.deps.logger.warn({ err }, 'expiry sweep: could not end the lock transaction after recording');
    }
    return { finished, failures, endedAt };
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
