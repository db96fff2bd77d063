import type { Writable } from 'node:stream';
import { parsePointInTime } from '../audit/export-query';
import type { Db } from '../db/prisma';
import { computeAccessReport } from '../domain/access-report';
import { loadReportSource } from '../reports/report-events';
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../reports/report-formats';

export interface ReportQuery {
  since: Date;
  until: Date;
  format: ReportFormat;
  workspaceUrl: string | null;
}

const TIME_EXAMPLES = 'a duration meaning "that long ago" (7d, 30d, 12h) or an ISO date (2026-11-01, 2026-11-01T08:00:00Z)';

/** Validates `report`'s flags; a message with an example when they are wrong. */
export function parseReportQuery(
  input: { since?: string; until?: string; format?: string; workspace?: string },
  now: Date = new Date(),
): { ok: true; query: ReportQuery } | { ok: false; message: string } {
  const since = parsePointInTime(input.since ?? '7d', now);
  if (!since) return { ok: false, message: `since "${input.since}" is not ${TIME_EXAMPLES}` };
  const until = input.until === undefined ? now : parsePointInTime(input.until, now);
  if (!until) return { ok: false, message: `until "${input.until}" is not ${TIME_EXAMPLES}` };
  if (until.getTime() <= since.getTime()) return { ok: false, message: `until (${until.toISOString()}) must be after since (${since.toISOString()})` };
  const format = (input.format ?? 'md').trim().toLowerCase();
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) return { ok: false, message: `format "${input.format}" is not one of ${REPORT_FORMATS.join(', ')}` };
  let workspaceUrl: string | null = null;
  if (input.workspace !== undefined) {
    if (!/^https:\/\/[a-z0-9.-]+\/?$/i.test(input.workspace))
      return { ok: false, message: `workspace "${input.workspace}" is not a Slack workspace URL such as https://acme.slack.com` };
    workspaceUrl = input.workspace;
  }
  return { ok: true, query: { since, until, format: format as ReportFormat, workspaceUrl } };
}

/** Computes the report from the sealed audit events and writes it; returns how many events it was computed from. */
export async function writeReport(db: Db, query: ReportQuery, out: Writable): Promise<{ events: number; unsealed: number }> {
  const period = { since: query.since, until: query.until };
  const source = await loadReportSource(db, period);
  const report = computeAccessReport(period, source.events, source.refs);
  const text = renderReport(report, query.format, { workspaceUrl: query.workspaceUrl, unsealed: source.unsealed });
  await new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
  return { events: report.source.events, unsealed: source.unsealed };
}
