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

/**
 * Writes effects inside the caller's transaction (one INSERT), in the order given.
 *
 * Lanes are delivered in id order, and ids are drawn when rows are inserted, not when they commit: two open
 * transactions writing one lane could commit in the opposite order of their ids. Writers that care about the order
 * of a lane must therefore be serialized by a lock they hold until they commit; RequestStore does this with the
 * request's row lock for every request lane (see RequestStore.transaction). Lanes shared by many requests (App Home
 * refreshes, a channel's summaries, a user's DMs) need no order and take no lock, so no commit waits for another.
 */
export async function writeEffects(tx: Prisma.TransactionClient, effects: readonly NewEffect[]): Promise<void> {
  if (effects.length === 0) return;
  const pools = effects.map((e) => e.pool);
  const lanes = effects.map((e) => e.lane);
  const kinds = effects.map((e) => e.kind);
  const requestIds = effects.map((e) => e.requestId ?? null);
  const payloads = effects.map((e) => JSON.stringify(e.payload ?? {}));
  const runAfters = effects.map((e) => e.runAfter?.toISOString() ?? null);
  // Times are stored as UTC wall-clock (timestamp without time zone), as Prisma stores DateTime.
  await tx.$executeRaw`
    INSERT INTO "Effect" ("pool", "lane", "kind", "requestId", "payload", "runAfter", "createdAt")
    SELECT e.pool, e.lane, e.kind, e.request_id::uuid, e.payload::jsonb,
           coalesce(e.run_after::timestamptz AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC'
    FROM unnest(${pools}::text[], ${lanes}::text[], ${kinds}::text[], ${requestIds}::text[], ${payloads}::text[], ${runAfters}::text[])
         WITH ORDINALITY AS e(pool, lane, kind, request_id, payload, run_after, n)
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
