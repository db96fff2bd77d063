import type { Db } from '../db/prisma';
import type { ReportEvent, ReportPeriod, ReportRequestRef } from '../domain/access-report';
import { utcTimestamp } from '../audit/export';

/** What the report is computed from: sealed events only (those with a seq and a hash, the ones `npm run audit --
 * verify` checks and `export` exports), so the report and the verified chain never disagree. Events committed in the
 * last few seconds and not sealed yet (see AUDIT_SEAL_BOUND) are left out and counted. */
export interface ReportSource {
  events: ReportEvent[];
  refs: Map<string, ReportRequestRef>;
  /** Events before the period's end that are not sealed yet, so not in the report. */
  unsealed: number;
}

const ID_BATCH = 500;

/**
 * The whole history, up to the period's end, of every request the period concerns: those with an event in the
 * period, and those still open when it began (access granted and not yet taken away, an emergency grant not yet
 * reviewed), which matter to it without an event in it.
 */
export async function loadReportSource(db: Db, period: ReportPeriod): Promise<ReportSource> {
  const since = utcTimestamp(period.since);
  const until = utcTimestamp(period.until);
  const idRows = await db.$queryRaw<Array<{ id: string }>>`
    SELECT DISTINCT e."requestId"::text AS id FROM "AuditEvent" e
    WHERE e.seq IS NOT NULL AND e."requestId" IS NOT NULL AND e."createdAt" >= ${since} AND e."createdAt" < ${until}
    UNION
    SELECT e."requestId"::text FROM "AuditEvent" e
    WHERE e.seq IS NOT NULL AND e."createdAt" < ${since} AND e.action = 'GRANTED'
      AND NOT EXISTS (SELECT 1 FROM "AuditEvent" x WHERE x."requestId" = e."requestId" AND x.seq IS NOT NULL AND x."createdAt" < ${since}
                      AND x.action IN ('EXPIRED', 'REVOKED', 'ROLLED_BACK', 'LATE_GRANT_REVOKED'))
    UNION
    SELECT e."requestId"::text FROM "AuditEvent" e
    WHERE e.seq IS NOT NULL AND e."createdAt" < ${since} AND e.action = 'EMERGENCY_INVOKED'
      AND NOT EXISTS (SELECT 1 FROM "AuditEvent" x WHERE x."requestId" = e."requestId" AND x.seq IS NOT NULL AND x."createdAt" < ${since}
                      AND x.action IN ('EMERGENCY_REVIEWED', 'EMERGENCY_FLAGGED'))`;
  const ids = idRows.map((row) => row.id);
  const events: ReportEvent[] = [];
  const refs = new Map<string, ReportRequestRef>();
  for (let start = 0; start < ids.length; start += ID_BATCH) {
    const batch = ids.slice(start, start + ID_BATCH);
    const rows = await db.$queryRaw<Array<{ seq: string; at: string; requestId: string; actor: string; action: string; details: Record<string, unknown> }>>`
      SELECT e.seq::text AS seq, to_char(e."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, e."requestId"::text AS "requestId",
             e.actor, e.action, e.details
      FROM "AuditEvent" e
      WHERE e."requestId" = ANY(${batch}::uuid[]) AND e.seq IS NOT NULL AND e."createdAt" < ${until}
      ORDER BY e.seq`;
    for (const row of rows) {
      events.push({ seq: Number(row.seq), at: new Date(row.at), requestId: row.requestId, actor: row.actor, action: row.action, details: row.details ?? {} });
    }
    const requests = await db.accessRequest.findMany({
      where: { id: { in: batch } },
      select: { id: true, number: true, channelId: true, messageTs: true, requesterId: true, resourceId: true, roleId: true },
    });
    for (const request of requests) refs.set(request.id, { requestId: request.id, ...request });
  }
  events.sort((a, b) => a.seq - b.seq);
  const [{ count }] = await db.$queryRaw<Array<{ count: number }>>`
    SELECT count(*)::int AS count FROM "AuditEvent" WHERE seq IS NULL AND "createdAt" < ${until} AND "createdAt" >= ${since}`;
  return { events, refs, unsealed: count };
}
