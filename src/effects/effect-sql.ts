import { Prisma, type Db } from '../db/prisma';
import type { EffectRow } from './outbox';

/** Times are UTC wall-clock (timestamp without time zone), as Prisma stores DateTime; the database's clock is the
 * only one compared, so runners on machines with skewed clocks agree on leases and runAfter. */
const NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

const millis = (ms: number) => Prisma.sql`(${Math.max(0, Math.round(ms))}::int * interval '1 millisecond')`;
const idArray = (ids: readonly bigint[]) => Prisma.sql`${ids.map(String)}::bigint[]`;

/** A lease is free when nobody holds it, or its holder has not beaten within livenessMs (crashed, or stopped). */
const leaseFree = (livenessMs: number) => Prisma.sql`(e."leasedBy" IS NULL OR NOT EXISTS (
  SELECT 1 FROM "EffectRunnerBeat" b WHERE b.id = e."leasedBy" AND b."beatAt" > ${NOW} - ${millis(livenessMs)}))`;

export interface ClaimOptions {
  pool: string;
  processId: string;
  livenessMs: number;
  /** Lanes to claim, at most. */
  limit: number;
  /** Kinds delivered in batches: the head's following effects of the same kind are leased with it. */
  batchSizes: ReadonlyMap<string, number>;
  /** Only this lane (continuing a lane after delivering its head). */
  lane?: string;
  /** Settle these first, in the same statement (the lane's just-delivered effects): they no longer hide the next head. */
  settle?: { ids: readonly bigint[]; gaveUp: boolean; lastError: string | null };
  /** Claim nothing while this condition holds (the settling still happens): a pool that gives way to other work. */
  holdWhile?: Prisma.Sql;
}

/**
 * Leases up to `limit` lane heads of the pool (oldest first) plus, for batched kinds, their consecutive same-kind
 * followers, in one statement; returns them grouped by lane, each lane in id order.
 *
 * The walk goes through the pool's undelivered rows in id order (partial index) and keeps a row only if no earlier
 * undelivered row of its lane exists (partial index on lane, id), so it touches the backlog's front, not all of it.
 * SKIP LOCKED keeps two runners from taking the same head; a lane's other rows are not heads while it is
 * undelivered, so nobody else takes them either.
 */
export async function claimLanes(db: Db, o: ClaimOptions): Promise<EffectRow[][]> {
  const settleIds = o.settle?.ids ?? [];
  const settle = o.settle
    ? Prisma.sql`settled AS (
        UPDATE "Effect" SET "deliveredAt" = ${NOW}, "leasedBy" = NULL, "gaveUp" = ${o.settle.gaveUp},
          "lastError" = ${o.settle.lastError}, "attempts" = "attempts" + ${o.settle.gaveUp ? 1 : 0}::int
        WHERE id = ANY(${idArray(settleIds)}) AND "deliveredAt" IS NULL RETURNING id),`
    : Prisma.empty;
  const laneOnly = o.lane === undefined ? Prisma.empty : Prisma.sql`AND e.lane = ${o.lane}`;
  const notSettledE = settleIds.length ? Prisma.sql`AND e.id <> ALL(${idArray(settleIds)})` : Prisma.empty;
  const notSettledP = settleIds.length ? Prisma.sql`AND p.id <> ALL(${idArray(settleIds)})` : Prisma.empty;
  const hold = o.holdWhile ? Prisma.sql`AND NOT ${o.holdWhile}` : Prisma.empty;
  const kinds = [...o.batchSizes.keys()];
  const sizes = kinds.map((k) => o.batchSizes.get(k)!);
  const rows = await db.$queryRaw<EffectRow[]>`
    WITH ${settle}
    heads AS (
      SELECT e.id, e.lane, e.kind FROM "Effect" e
      WHERE e.pool = ${o.pool} AND e."deliveredAt" IS NULL ${laneOnly} ${notSettledE}
        AND e."runAfter" <= ${NOW} AND ${leaseFree(o.livenessMs)}
        -- This process's own leases are deliveries in flight here, even if its beat looks late (a slow database):
        -- taking them again would deliver a lane twice at once.
        AND e."leasedBy" IS DISTINCT FROM ${o.processId}
        AND NOT EXISTS (SELECT 1 FROM "Effect" p WHERE p.lane = e.lane AND p."deliveredAt" IS NULL AND p.id < e.id ${notSettledP})
        ${hold}
      ORDER BY e.id
      LIMIT ${o.limit}::int
      FOR UPDATE OF e SKIP LOCKED),
    followers AS (
      SELECT f.id FROM heads h
      JOIN unnest(${kinds}::text[], ${sizes}::int[]) AS s(kind, size) ON s.kind = h.kind
      CROSS JOIN LATERAL (
        -- The next size-1 effects of the lane, cut at the first that is of another kind (or pool) or not yet due.
        SELECT n.id FROM (
          SELECT r.id, bool_and(r.kind = h.kind AND r.pool = ${o.pool} AND r."runAfter" <= ${NOW}) OVER (ORDER BY r.id) AS fits
          FROM (SELECT r.id, r.kind, r.pool, r."runAfter" FROM "Effect" r
                WHERE r.lane = h.lane AND r."deliveredAt" IS NULL AND r.id > h.id
                ORDER BY r.id LIMIT s.size - 1) r
        ) n WHERE n.fits) f)
    UPDATE "Effect" x SET "leasedBy" = ${o.processId}
    FROM (SELECT id FROM heads UNION ALL SELECT id FROM followers) c
    WHERE x.id = c.id
    RETURNING x.id, x.pool, x.lane, x.kind, x."requestId", x.payload, x.attempts, x."createdAt"`;
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const lanes = new Map<string, EffectRow[]>();
  for (const row of rows) {
    const lane = lanes.get(row.lane);
    if (lane) lane.push(row);
    else lanes.set(row.lane, [row]);
  }
  return [...lanes.values()];
}

/** A failed delivery: not before `delayMs`, counted, and free for any runner again. Only while still ours. */
export async function recordFailure(db: Db, processId: string, ids: readonly bigint[], delayMs: number, lastError: string): Promise<void> {
  await db.$executeRaw`
    UPDATE "Effect" SET "runAfter" = ${NOW} + ${millis(delayMs)}, "attempts" = "attempts" + 1, "lastError" = ${lastError}, "leasedBy" = NULL
    WHERE id = ANY(${idArray(ids)}) AND "deliveredAt" IS NULL AND "leasedBy" = ${processId}`;
}

/** Settles without continuing the lane (a runner that is stopping). */
export async function settle(db: Db, ids: readonly bigint[], gaveUp: boolean, lastError: string | null): Promise<void> {
  await db.$executeRaw`
    UPDATE "Effect" SET "deliveredAt" = ${NOW}, "leasedBy" = NULL, "gaveUp" = ${gaveUp}, "lastError" = ${lastError},
      "attempts" = "attempts" + ${gaveUp ? 1 : 0}::int
    WHERE id = ANY(${idArray(ids)}) AND "deliveredAt" IS NULL`;
}

export async function releaseLeases(db: Db, processId: string, ids: readonly bigint[]): Promise<number> {
  if (ids.length === 0) return 0;
  return db.$executeRaw`
    UPDATE "Effect" SET "leasedBy" = NULL WHERE id = ANY(${idArray(ids)}) AND "deliveredAt" IS NULL AND "leasedBy" = ${processId}`;
}

export interface Backlog {
  pool: string;
  undelivered: number;
  oldestAgeSeconds: number;
}

export async function backlog(db: Db, pool: string): Promise<Backlog> {
  // The oldest by id (index order), not min(createdAt): the same row in practice, without a scan.
  const [row] = await db.$queryRaw<Array<{ undelivered: number; age: number | null }>>`
    SELECT (SELECT count(*)::int FROM "Effect" WHERE pool = ${pool} AND "deliveredAt" IS NULL) AS undelivered,
           (SELECT extract(epoch FROM ${NOW} - "createdAt")::float8 FROM "Effect"
             WHERE pool = ${pool} AND "deliveredAt" IS NULL ORDER BY id LIMIT 1) AS age`;
  return { pool, undelivered: row?.undelivered ?? 0, oldestAgeSeconds: Math.max(0, row?.age ?? 0) };
}

export async function beat(db: Db, processId: string): Promise<void> {
  await db.$executeRaw`
    INSERT INTO "EffectRunnerBeat" (id, "beatAt") VALUES (${processId}, ${NOW})
    ON CONFLICT (id) DO UPDATE SET "beatAt" = EXCLUDED."beatAt"`;
}

export async function endBeat(db: Db, processId: string): Promise<void> {
  await db.$executeRaw`DELETE FROM "EffectRunnerBeat" WHERE id = ${processId}`;
}
