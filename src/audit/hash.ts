import { createHash } from 'node:crypto';

/** The prevHash of the first event (see the operator_experience migration). */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of one event that its hash covers, as text, the way the export writes them (src/audit/export.ts). */
export interface HashedEventFields {
  prevHash: string;
  seq: number | string;
  /** The request's UUID in lower case, or null for events that belong to no request. */
  requestId: string | null;
  actor: string;
  action: string;
  /** PostgreSQL's text of the jsonb value (`details::text`), exactly as exported. */
  details: string;
  /** ISO 8601 in UTC with milliseconds, as exported (`2026-11-21T14:05:27.123Z`); the trailing Z is not hashed. */
  createdAt: string;
}

const EXPORTED_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})Z?$/;

/**
 * An event's hash, computed in Node from its exported fields: SHA-256 (hex) of `prevHash`, `seq`, `requestId` (empty
 * when none), `actor`, `action`, `details` (jsonb text) and `createdAt` (`YYYY-MM-DDTHH:MM:SS.mmm`, UTC, no Z),
 * joined by `\n` and encoded as UTF-8. This is the same definition as the SQL function audit_event_hash() that seals
 * events (migration operator_experience), written out here so that verification never trusts a function stored in
 * the database it is checking.
 */
export function auditEventHash(fields: HashedEventFields): string {
  const time = EXPORTED_TIME.exec(fields.createdAt);
  if (!time) throw new Error(`createdAt "${fields.createdAt}" is not YYYY-MM-DDTHH:MM:SS.mmmZ`);
  const text = [fields.prevHash, String(fields.seq), fields.requestId ?? '', fields.actor, fields.action, fields.details, time[1]].join('\n');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
