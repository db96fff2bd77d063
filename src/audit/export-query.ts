import { parseDuration } from '../domain/duration';

/** What to export, validated. Times are absolute; `since` is inclusive, `until` exclusive. */
export interface AuditExportFilters {
  since: Date;
  until: Date | null;
  /** The request's number (BG-1042 → 1042). */
  requestNumber: number | null;
  /** Slack user id, or "system". */
  actor: string | null;
}

export type AuditExportFormat = 'csv' | 'json';
export const AUDIT_EXPORT_FORMATS: readonly AuditExportFormat[] = ['csv', 'json'];

/** The export parameters as people type them, on the command line or in the query string. */
export interface AuditExportInput {
  since?: string;
  until?: string;
  request?: string;
  actor?: string;
  format?: string;
}

export type ParsedExportQuery = { ok: true; filters: AuditExportFilters; format: AuditExportFormat } | { ok: false; message: string };

const TIME_EXAMPLES = 'a duration meaning "that long ago" (30d, 12h, 1d12h) or an ISO date (2026-11-01, 2026-11-01T08:00:00Z)';
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A point in time from `30d` (that long before `now`) or an ISO 8601 date or date-time. A date alone is midnight
 * UTC, and so is a date-time without an offset: audit times are stored and exported in UTC.
 */
export function parsePointInTime(text: string, now: Date): Date | null {
  const trimmed = text.trim();
  const seconds = parseDuration(trimmed);
  if (seconds !== null) return new Date(now.getTime() - seconds * 1000);
  const match = ISO_DATE.exec(trimmed);
  if (!match) return null;
  const [, year, month, day, hour = '00', minute = '00', second = '00', millis = '0', offset = 'Z'] = match;
  // Date.parse rolls 2026-02-31 over into March; a date that does not exist is a typo.
  const calendarDay = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (calendarDay.getUTCFullYear() !== Number(year) || calendarDay.getUTCMonth() !== Number(month) - 1 || calendarDay.getUTCDate() !== Number(day)) return null;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  const normalizedOffset = offset.toUpperCase() === 'Z' ? 'Z' : offset.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const parsed = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis.padEnd(3, '0')}${normalizedOffset}`);
  return Number.isNaN(parsed) ? null : new Date(parsed);
}

/** `BG-1042`, `bg-1042` or `1042` → 1042. */
export function parseRequestNumber(text: string): number | null {
  const match = /^(?:BG-)?(\d{1,9})$/i.exec(text.trim());
  if (!match) return null;
  const number = Number(match[1]);
  return number > 0 ? number : null;
}

/** Validates export parameters for the CLI and the HTTP endpoint alike, with a message that shows an example. */
export function parseExportQuery(input: AuditExportInput, now: Date = new Date()): ParsedExportQuery {
  if (input.since === undefined || input.since.trim() === '') {
    return { ok: false, message: `since is required: ${TIME_EXAMPLES}` };
  }
  const since = parsePointInTime(input.since, now);
  if (!since) return { ok: false, message: `since "${input.since}" is not ${TIME_EXAMPLES}` };
  let until: Date | null = null;
  if (input.until !== undefined && input.until.trim() !== '') {
    until = parsePointInTime(input.until, now);
    if (!until) return { ok: false, message: `until "${input.until}" is not ${TIME_EXAMPLES}` };
    if (until.getTime() <= since.getTime()) {
      return { ok: false, message: `until (${until.toISOString()}) must be after since (${since.toISOString()})` };
    }
  }
  let requestNumber: number | null = null;
  if (input.request !== undefined && input.request.trim() !== '') {
    requestNumber = parseRequestNumber(input.request);
    if (requestNumber === null) return { ok: false, message: `request "${input.request}" is not a request id such as BG-1042 (or 1042)` };
  }
  const actor = input.actor?.trim() ? input.actor.trim() : null;
  const format = (input.format ?? 'json').trim().toLowerCase();
  if (!(AUDIT_EXPORT_FORMATS as readonly string[]).includes(format)) {
    return { ok: false, message: `format "${input.format}" is not one of ${AUDIT_EXPORT_FORMATS.join(', ')}` };
  }
  return { ok: true, filters: { since, until, requestNumber, actor }, format: format as AuditExportFormat };
}
