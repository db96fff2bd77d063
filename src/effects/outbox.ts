import type { Db, Prisma } from '../db/prisma';

/** An effect to write with a state change; see the Effect model. */
export interface NewEffect {
  pool: string;
  lane: string;
  kind: string;
  requestId?: string | null;
  payload?: Record<string, unknown>;
  /** Not before this time (default: as soon as the transaction commits). */
  runAfter?: Date;
}

/** What a handler receives: one claimed effect. */
export interface EffectRow {
  id: bigint;
  pool: string;
  lane: string;
  kind: string;
  requestId: string | null;
  payload: Record<string, unknown>;
  /** Failed deliveries so far (0 on the first try). */
  attempts: number;
  createdAt: Date;
}

/** The two-key advisory-lock space is separate from the one-key space the access locks use (lockAccessKeys), so
 * lane locks never collide with them; this first key keeps them apart from any other two-key user. */
const LANE_LOCK_CLASS = 0x0e_ff_ec_70;

/**
 * Writes effects inside the caller's transaction (one INSERT), in the order given.
 *
 * Lanes promise delivery in id order, but ids come from a sequence when rows are inserted, not when they commit:
 * two transactions writing the same lane could commit in the opposite order of their ids, and a runner could
 * deliver the later id before the earlier one is even visible. So the statement first takes a transaction-level
 * advisory lock per lane (in one global order): writers of a lane then commit in id order. Call it once per
 * transaction, as its last write, so the locks are held only for the commit and cannot take part in a deadlock.
 */
export async function writeEffects(tx: Prisma.TransactionClient, effects: readonly NewEffect[]): Promise<void> {
  if (effects.length === 0) return;
  const pools = effects.map((e) => e.pool);
  const lanes = effects.map((e) => e.lane);
  const kinds = effects.map((e) => e.kind);
  const requestIds = effects.map((e) => e.requestId ?? null);
  const payloads = effects.map((e) => JSON.stringify(e.payload ?? {}));
  const runAfters = effects.map((e) => e.runAfter?.toISOString() ?? null);
  // The uncorrelated subquery in WHERE runs once, before the first row is produced (so before any id is drawn).
  // Times are stored as UTC wall-clock (timestamp without time zone), as Prisma stores DateTime.
  await tx.$executeRaw`
    INSERT INTO "Effect" ("pool", "lane", "kind", "requestId", "payload", "runAfter", "createdAt")
    SELECT e.pool, e.lane, e.kind, e.request_id::uuid, e.payload::jsonb,
           coalesce(e.run_after::timestamptz AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC'
    FROM unnest(${pools}::text[], ${lanes}::text[], ${kinds}::text[], ${requestIds}::text[], ${payloads}::text[], ${runAfters}::text[])
         WITH ORDINALITY AS e(pool, lane, kind, request_id, payload, run_after, n)
    WHERE (SELECT count(pg_advisory_xact_lock(${LANE_LOCK_CLASS}::int, lock_id))
           FROM (SELECT DISTINCT hashtext(lane) AS lock_id FROM unnest(${lanes}::text[]) AS lane ORDER BY 1) AS ordered) >= 0
    ORDER BY e.n`;
}

/**
 * Deletes effects settled (delivered or given up) before `before`, at most `limit` of them, oldest first; returns
 * how many. Nothing else ever deletes effects: settled rows are the record of what was sent, kept as long as the
 * caller wants them, and pruning in bounded steps keeps each call short (call again while it returns `limit`).
 */
export async function pruneSettledEffects(db: Db, before: Date, limit = 10_000): Promise<number> {
  return db.$executeRaw`
    DELETE FROM "Effect" WHERE id IN (
      SELECT id FROM "Effect" WHERE "deliveredAt" < (${before.toISOString()}::timestamptz AT TIME ZONE 'UTC') ORDER BY id LIMIT ${limit}::int)`;
}
