import { Prisma, type Db } from '../db/prisma';
import { humanRequestId } from '../domain/request-view';
import type { AuditExportFilters, AuditExportFormat } from './export-query';

/** One audit event as exported. `details` is PostgreSQL's own text of the JSON (`details::text`), the exact
 * text the hash covers, so anyone can recompute the chain from an export (see docs/audit.md). */
export interface AuditExportRow {
  seq: number;
  /** ISO 8601, UTC, milliseconds. */
  createdAt: string;
  /** BG-1042, or null for events that belong to no request. */
  request: string | null;
  requestId: string | null;
  actor: string;
  action: string;
  details: string;
  prevHash: string | null;
  hash: string | null;
}

export const AUDIT_EXPORT_COLUMNS = ['seq', 'createdAt', 'request', 'requestId', 'actor', 'action', 'details', 'prevHash', 'hash'] as const;

export const AUDIT_EXPORT_CONTENT_TYPES: Record<AuditExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  json: 'application/x-ndjson; charset=utf-8',
};

interface EventRow {
  seq: string;
  createdAt: string;
  requestId: string | null;
  requestNumber: number | null;
  actor: string;
  action: string;
  details: string;
  prevHash: string | null;
  hash: string | null;
}

/**
 * The chained events matching the filters, in chain (seq) order, read a batch at a time with keyset pagination on
 * seq, so memory stays flat whatever the size of the log.
 */
export async function* auditExportRows(db: Db, filters: AuditExportFilters, batchSize = 1_000): AsyncGenerator<AuditExportRow[]> {
  const conditions = [Prisma.sql`e."createdAt" >= ${utcTimestamp(filters.since)}`];
  if (filters.until) conditions.push(Prisma.sql`e."createdAt" < ${utcTimestamp(filters.until)}`);
  if (filters.requestNumber !== null) conditions.push(Prisma.sql`r.number = ${filters.requestNumber}`);
  if (filters.actor !== null) conditions.push(Prisma.sql`e.actor = ${filters.actor}`);
  const matching = Prisma.join(conditions, ' AND ');
  // Bound the seq walk once by the time window (createdAt index), so later batches never rescan older events.
  const [bounds] = await db.$queryRaw<Array<{ first: string | null; last: string | null }>>`
    SELECT min(e.seq)::text AS first, max(e.seq)::text AS last
    FROM "AuditEvent" e LEFT JOIN "AccessRequest" r ON r.id = e."requestId"
    WHERE ${matching}`;
  if (bounds.first === null || bounds.last === null) return;
  let after = Number(bounds.first) - 1;
  const last = Number(bounds.last);
  for (;;) {
    const rows: EventRow[] = await db.$queryRaw<EventRow[]>`
      SELECT e.seq::text AS seq, to_char(e."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", e."requestId"::text AS "requestId", r.number AS "requestNumber",
             e.actor, e.action, e.details::text AS details, e."prevHash", e.hash
      FROM "AuditEvent" e LEFT JOIN "AccessRequest" r ON r.id = e."requestId"
      WHERE e.seq > ${after} AND e.seq <= ${last} AND ${matching}
      ORDER BY e.seq
      LIMIT ${batchSize}`;
    if (rows.length > 0) yield rows.map(toExportRow);
    if (rows.length < batchSize) return;
    after = Number(rows[rows.length - 1].seq);
  }
}

/** createdAt is a timestamp without time zone holding UTC: compare in UTC whatever the session's time zone. */
export function utcTimestamp(at: Date): Prisma.Sql {
  return Prisma.sql`(${at.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
}

function toExportRow(row: EventRow): AuditExportRow {
  return {
    seq: Number(row.seq),
    createdAt: row.createdAt,
    request: row.requestNumber === null ? null : humanRequestId(row.requestNumber),
    requestId: row.requestId,
    actor: row.actor,
    action: row.action,
    details: row.details,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

/**
 * The export as text chunks, one per batch: CSV (RFC 4180, CRLF, header row) or JSON Lines (one object per line,
 * so a consumer can process it as it arrives and a truncated download is visibly incomplete at a line boundary).
 * The first chunk is only produced after the first query succeeded, so callers can still answer with an error.
 */
export async function* exportAuditEvents(
  db: Db,
  filters: AuditExportFilters,
  format: AuditExportFormat,
  options: { batchSize?: number; onBatch?: (rows: number) => void } = {},
): AsyncGenerator<string> {
  let header = format === 'csv' ? csvLine(AUDIT_EXPORT_COLUMNS) : '';
  for await (const batch of auditExportRows(db, filters, options.batchSize)) {
    options.onBatch?.(batch.length);
    const body = batch.map((row) => (format === 'csv' ? csvLine(AUDIT_EXPORT_COLUMNS.map((column) => row[column])) : `${JSON.stringify(row)}\n`)).join('');
    yield header + body;
    header = '';
  }
  if (header) yield header;
}

/** Spreadsheets run cells starting with these as formulas (CSV injection); tab and CR count too (OWASP). */
const FORMULA_TRIGGERS = /^[=+\-@\t\r]/;

/** One RFC 4180 field: quoted when it holds a quote, comma or line break; a formula-looking text gets a leading '. */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_TRIGGERS.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: ReadonlyArray<string | number | null>): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
