import type { Logger } from 'pino';
import type { AccessRequest, Db, Prisma } from '../db/prisma';
import { assertTransition, type RequestState } from '../domain/request-state';
import { writeEffects, type NewEffect } from '../effects/outbox';
import type { AccessMetrics } from '../metrics/access-metrics';
import { recordAudit, SYSTEM_ACTOR, type AuditAction } from '../services/audit-log';
import { accessEnded, type EffectSubject } from './effect-plans';

/** What a status change returns: the request's routing ids (for its effects) and the times the metrics use. */
const MOVED_FIELDS = {
  id: true,
  number: true,
  channelId: true,
  requesterId: true,
  resourceId: true,
  roleId: true,
  createdAt: true,
  decidedAt: true,
  expiresAt: true,
  endedAt: true,
} as const;

export type MovedRequest = EffectSubject & Pick<AccessRequest, 'number' | 'resourceId' | 'roleId' | 'createdAt' | 'decidedAt' | 'expiresAt' | 'endedAt'>;

export interface Transition {
  requestId: string;
  from: readonly RequestState[];
  to: RequestState;
  /** Other columns changed with the status. */
  data?: Omit<Prisma.AccessRequestUpdateManyMutationInput, 'status'>;
  actor: string;
  action: AuditAction;
  details?: Record<string, unknown>;
  /** The effects the change implies, written in the same transaction (see effect-plans). */
  effects: (moved: MovedRequest) => NewEffect[];
}

/** An expiry sweep's outcome for one request it claimed. */
export type SweptRequest = { request: AccessRequest; revoked: true; keptOnTargetFor: string | null } | { request: AccessRequest; revoked: false };

/** A transaction of the store: changes made through it are committed with their audit events and effects. */
export type StoreTransaction = Prisma.TransactionClient;

/** Effects queued in each open store transaction, written together as its last statement, and the requests whose row
 * the transaction has locked already (its status changes took them). */
const queued = new WeakMap<StoreTransaction, NewEffect[]>();
const lockedRows = new WeakMap<StoreTransaction, Set<string>>();

/**
 * Holds the row lock of every request the effects are about until the commit, so two transactions writing effects
 * for one request commit in the order of their effects' ids, and its lanes (its thread, its message, its access) are
 * delivered in the order the changes happened. Most changes hold the lock already (their UPDATE took it); this covers
 * the rest (an extension asked for, a drift report). A sweep's requests are all locked already, so the only
 * transaction locking many rows here never waits on them, and no lock order can cross another's. NO KEY UPDATE, the
 * lock an UPDATE takes: a stronger FOR UPDATE would also wait for the key-share locks that inserting a row referring
 * to the request takes (an approval), and two approvals clicked at once would deadlock.
 */
async function lockRequestsOf(tx: StoreTransaction, effects: readonly NewEffect[]): Promise<void> {
  const locked = lockedRows.get(tx);
  const ids = [...new Set(effects.map((effect) => effect.requestId).filter((id): id is string => Boolean(id) && !locked?.has(id!)))].sort();
  if (ids.length === 0) return;
  await tx.$queryRaw`SELECT 1 FROM "AccessRequest" WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR NO KEY UPDATE`;
}

/** Adds effects to the store transaction `tx`; they commit with it, or not at all. */
export function queueEffects(tx: StoreTransaction, effects: readonly NewEffect[]): void {
  const pending = queued.get(tx);
  if (!pending) throw new Error('effects can only be queued in a RequestStore transaction');
  pending.push(...effects);
}

/**
 * The one writer of `AccessRequest.status`. Every change is conditional on the old status (two racing actors cannot
 * both move a request), allowed by the transition table (domain/request-state), and committed together with its
 * audit event and the effects it implies (Slack messages, grants, jobs, App Home refreshes), which the effect
 * runners then deliver from the outbox. Nothing external happens inside: a change is a database write only.
 */
export class RequestStore {
  constructor(
    private readonly deps: {
      db: Db;
      logger: Logger;
      metrics?: AccessMetrics;
      /** Tells this process's effect runners that new effects are committed. */
      wake: (pools: ReadonlySet<string>) => void;
    },
  ) {}

  /** Runs `work` in a transaction; once it commits, the runners of the pools it wrote effects for are woken. */
  async transaction<T>(work: (tx: StoreTransaction) => Promise<T>, options?: { timeout?: number; maxWait?: number }): Promise<T> {
    const pools = new Set<string>();
    const result = await this.deps.db.$transaction(async (tx) => {
      queued.set(tx, []);
      lockedRows.set(tx, new Set());
      const value = await work(tx);
      const effects = queued.get(tx)!;
      await lockRequestsOf(tx, effects);
      queued.delete(tx);
      lockedRows.delete(tx);
      await writeEffects(tx, effects);
      for (const effect of effects) pools.add(effect.pool);
      return value;
    }, options);
    if (pools.size > 0) this.deps.wake(pools);
    return result;
  }

  /** One status change in its own transaction; false when another actor moved the request first. */
  async move(transition: Transition): Promise<boolean> {
    return (await this.transaction((tx) => this.moveIn(tx, transition))) !== null;
  }

  /** One status change inside the caller's transaction (see `transaction`); null when it did not apply. */
  async moveIn(tx: StoreTransaction, { requestId, from, to, data = {}, actor, action, details = {}, effects }: Transition): Promise<MovedRequest | null> {
    assertTransition(from, to);
    const [moved] = await tx.accessRequest.updateManyAndReturn({
      where: { id: requestId, status: { in: [...from] } },
      data: { ...data, status: to },
      select: MOVED_FIELDS,
    });
    if (!moved) return null;
    lockedRows.get(tx)?.add(requestId); // the UPDATE holds its row until the commit
    await recordAudit(tx, { requestId, actor, action, details: { from, to, ...details } });
    queueEffects(tx, effects(moved));
    // Counted before the commit: a transaction that then fails (the database going away) may count once too often.
    this.deps.metrics?.requestMoved({ ...moved, to, action });
    this.deps.logger.info({ requestId, to, action, actor }, 'request changed state');
    return moved;
  }

  /**
   * An expiry sweep's outcomes in one statement (state, Grant rows and audit events together), conditional on the
   * state the claim saw: revoked requests become EXPIRED (their access is gone), failed ones REVOKING for their
   * retries. The ended ones' audit summaries and message updates are written to the outbox in the same transaction.
   * Returns the ids it moved.
   */
  async recordSweepIn(tx: StoreTransaction, outcomes: readonly SweptRequest[], endedAt: Date): Promise<Set<string>> {
    if (outcomes.length === 0) return new Set();
    for (const { request, revoked } of outcomes) assertTransition([request.status], revoked ? 'EXPIRED' : 'REVOKING');
    const rows = outcomes.map((outcome) => {
      const { request } = outcome;
      if (!outcome.revoked) return { id: request.id, status: 'REVOKING', action: 'EXPIRY_REACHED', details: { from: [request.status], to: 'REVOKING' } };
      const kept = outcome.keptOnTargetFor !== null ? { keptOnTargetFor: outcome.keptOnTargetFor } : {};
      return {
        id: request.id,
        status: 'EXPIRED',
        action: 'EXPIRED',
        details: { from: [request.status], to: 'EXPIRED', login: request.requesterLogin, grant: request.grantName, ...kept },
      };
    });
    const at = endedAt.toISOString();
    const moved = await tx.$queryRaw<Array<{ id: string }>>`
      WITH outcome AS (
        SELECT * FROM unnest(${rows.map((o) => o.id)}::uuid[], ${rows.map((o) => o.status)}::text[], ${rows.map((o) => o.action)}::text[], ${rows.map((o) => JSON.stringify(o.details))}::text[])
          AS o(id, status, action, details)),
      moved AS (
        UPDATE "AccessRequest" r
        SET status = outcome.status::"RequestStatus", "endReason" = 'expired',
            "endedAt" = CASE WHEN outcome.status = 'EXPIRED' THEN ${at}::timestamp ELSE r."endedAt" END
        FROM outcome WHERE r.id = outcome.id AND r.status IN ('ACTIVE', 'APPROVED')
        RETURNING r.id, outcome.status, outcome.action, outcome.details),
      grants AS (
        UPDATE "Grant" g SET status = 'REVOKED', "revokedAt" = ${at}::timestamp
        FROM moved WHERE g."requestId" = moved.id AND moved.status = 'EXPIRED' AND g.status = 'ACTIVE'),
      audit AS (
        INSERT INTO "AuditEvent" ("requestId", actor, action, details, "createdAt")
        SELECT id, ${SYSTEM_ACTOR}, action, details::jsonb, ${at}::timestamp FROM moved)
      SELECT id::text AS id FROM moved`;
    const movedIds = new Set(moved.map((row) => row.id));
    for (const id of movedIds) lockedRows.get(tx)?.add(id); // claimed FOR UPDATE by the sweep, and updated here
    const ended = outcomes.filter((outcome) => outcome.revoked && movedIds.has(outcome.request.id)).map((outcome) => outcome.request);
    queueEffects(
      tx,
      ended.flatMap((request) => accessEnded(request, { grantFailed: false })),
    );
    for (const request of ended) this.deps.metrics?.requestMoved({ ...request, to: 'EXPIRED', action: 'EXPIRED', endedAt });
    return movedIds;
  }
}
