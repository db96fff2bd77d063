/** The review report as Markdown, CSV and JSON, for people outside Slack (`npm run audit -- report`). */
import { csvLine } from '../audit/export';
import type { AccessReport, ReportItem } from '../domain/access-report';
import { formatDuration } from '../domain/duration';
import { messagePermalink } from '../domain/permalink';

export type ReportFormat = 'md' | 'csv' | 'json';
export const REPORT_FORMATS: readonly ReportFormat[] = ['md', 'csv', 'json'];

export interface ReportTextOptions {
  /** The workspace's URL (https://acme.slack.com): thread links become permalinks; without it, channel/ts. */
  workspaceUrl?: string | null;
  unsealed?: number;
}

/** The thread of a request: its permalink when the workspace is known, else `<channel>/<ts>`; null when the
 * approval message was never posted. */
export function threadOf(item: ReportItem, workspaceUrl: string | null | undefined): string | null {
  if (!item.channelId || !item.messageTs) return null;
  return workspaceUrl ? messagePermalink(workspaceUrl, item.channelId, item.messageTs) : `${item.channelId}/${item.messageTs}`;
}

export function renderReport(report: AccessReport, format: ReportFormat, options: ReportTextOptions = {}): string {
  if (format === 'json') return `${JSON.stringify(reportJson(report, options), null, 2)}\n`;
  if (format === 'csv') return reportCsv(report, options);
  return reportMarkdown(report, options);
}

/** The report with every item's thread, dates as ISO strings. */
export function reportJson(report: AccessReport, options: ReportTextOptions = {}) {
  const withThread = <T extends ReportItem>(item: T) => ({ ...item, thread: threadOf(item, options.workspaceUrl) });
  return {
    ...report,
    unsealedLeftOut: options.unsealed ?? 0,
    emergency: report.emergency.map(withThread),
    denied: report.denied.map(withThread),
    timedOut: report.timedOut.map(withThread),
    failedRevocations: report.failedRevocations.map(withThread),
    longestGrants: report.longestGrants.map(withThread),
  };
}

const CSV_COLUMNS = ['section', 'request', 'requester', 'resource', 'role', 'at', 'state', 'seconds', 'count', 'detail', 'thread'] as const;
type CsvRow = Partial<Record<(typeof CSV_COLUMNS)[number], string | number | null>>;

/** One table for all sections (the `section` column says which), so a spreadsheet can filter it. */
export function reportCsv(report: AccessReport, options: ReportTextOptions = {}): string {
  const rows: CsvRow[] = [];
  const item = (section: string, entry: ReportItem): CsvRow => ({
    section,
    request: entry.request,
    requester: entry.requester,
    resource: entry.resource,
    role: entry.role,
    thread: threadOf(entry, options.workspaceUrl),
  });
  const { totals } = report;
  rows.push({ section: 'period', at: report.period.since.toISOString(), detail: `until ${report.period.until.toISOString()}` });
  for (const [name, value] of Object.entries(totals)) rows.push({ section: 'total', state: name, [name === 'accessSeconds' ? 'seconds' : 'count']: value });
  for (const row of report.byResourceRole) rows.push({ section: 'by_resource_role', resource: row.resource, role: row.role, count: row.grants, seconds: row.accessSeconds });
  for (const entry of report.emergency)
    rows.push({
      ...item('emergency', entry),
      at: entry.invokedAt.toISOString(),
      state: entry.state,
      detail: [entry.reviewer ? `by ${entry.reviewer}` : null, entry.flagReason, entry.reviewDueAt ? `due ${entry.reviewDueAt.toISOString()}` : null, entry.late ? 'late' : null]
        .filter(Boolean)
        .join('; '),
    });
  for (const entry of report.denied) rows.push({ ...item('denied', entry), at: entry.at.toISOString(), detail: `by ${entry.by}` });
  for (const entry of report.timedOut) rows.push({ ...item('timed_out', entry), at: entry.at.toISOString() });
  for (const entry of report.failedRevocations)
    rows.push({
      ...item('failed_revocation', entry),
      at: entry.firstFailedAt.toISOString(),
      state: entry.resolvedAt ? `revoked ${entry.resolvedAt.toISOString()}` : 'still failing',
      seconds: entry.failingSeconds,
      count: entry.attempts,
      detail: entry.lastError,
    });
  for (const entry of report.longestGrants)
    rows.push({
      ...item('longest_grant', entry),
      at: entry.grantedAt.toISOString(),
      state: entry.endedAt ? 'ended' : 'still held',
      seconds: entry.seconds,
      detail: entry.emergency ? 'emergency' : null,
    });
  for (const row of report.topRequesters)
    rows.push({ section: 'top_requester', requester: row.requester, count: row.requests, seconds: row.accessSeconds, detail: `${row.grants} grants` });
  return [CSV_COLUMNS, ...rows.map((row) => CSV_COLUMNS.map((column) => row[column] ?? null))].map((values) => csvLine(values)).join('');
}

/** Markdown: a summary, then one table per section. User text is escaped so it cannot break a table. */
export function reportMarkdown(report: AccessReport, options: ReportTextOptions = {}): string {
  const { totals } = report;
  const ref = (entry: ReportItem) => {
    const thread = threadOf(entry, options.workspaceUrl);
    return thread?.startsWith('http') ? `[${entry.request}](${thread})` : thread ? `${entry.request} (${thread})` : entry.request;
  };
  const lines = [
    `# Access report ${report.period.since.toISOString()} – ${report.period.until.toISOString()}`,
    '',
    `- Requests: ${totals.requests}`,
    `- Grants: ${totals.grants}, ${formatDuration(totals.accessSeconds)} of access`,
    `- Emergency grants: ${totals.emergencyGrants} (${['flagged', 'overdue', 'pending', 'reviewed'].map((state) => `${report.emergency.filter((e) => e.state === state).length} ${state}`).join(', ')})`,
    `- Denied: ${totals.denied}; timed out: ${totals.timedOut}`,
    `- Failed revocations: ${totals.failedRevocations}`,
  ];
  const table = (heading: string, header: string[], rows: string[][]) => {
    lines.push('', `## ${heading}`, '');
    if (rows.length === 0) {
      lines.push('None.');
      return;
    }
    lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`));
  };
  table(
    'Grants by resource and role',
    ['Resource', 'Role', 'Grants', 'Access time'],
    report.byResourceRole.map((row) => [row.resource, row.role, String(row.grants), formatDuration(row.accessSeconds)]),
  );
  table(
    'Emergency grants',
    ['Request', 'Requester', 'Access', 'Invoked', 'Review', 'By', 'Flag reason'],
    report.emergency.map((e) => [
      ref(e),
      e.requester,
      `${e.role} on ${e.resource}`,
      e.invokedAt.toISOString(),
      `${e.state}${e.late ? ' (late)' : ''}`,
      e.reviewer ?? '',
      e.flagReason ? mdCode(e.flagReason) : '',
    ]),
  );
  table(
    'Revocations that failed',
    ['Request', 'Requester', 'Access', 'First failure', 'Attempts', 'Failing for', 'Outcome', 'Last error'],
    report.failedRevocations.map((f) => [
      ref(f),
      f.requester,
      `${f.role} on ${f.resource}`,
      f.firstFailedAt.toISOString(),
      String(f.attempts),
      formatDuration(f.failingSeconds),
      f.resolvedAt ? `revoked ${f.resolvedAt.toISOString()}` : 'still failing',
      f.lastError ? mdCode(f.lastError) : '',
    ]),
  );
  table(
    'Denied',
    ['Request', 'Requester', 'Access', 'At', 'By'],
    report.denied.map((d) => [ref(d), d.requester, `${d.role} on ${d.resource}`, d.at.toISOString(), d.by]),
  );
  table(
    'Timed out',
    ['Request', 'Requester', 'Access', 'At'],
    report.timedOut.map((d) => [ref(d), d.requester, `${d.role} on ${d.resource}`, d.at.toISOString()]),
  );
  table(
    'Longest grants',
    ['Request', 'Requester', 'Access', 'Granted', 'Duration', 'Note'],
    report.longestGrants.map((g) => [
      ref(g),
      g.requester,
      `${g.role} on ${g.resource}`,
      g.grantedAt.toISOString(),
      formatDuration(g.seconds),
      [g.endedAt ? '' : 'still held', g.emergency ? 'emergency' : ''].filter(Boolean).join(', '),
    ]),
  );
  table(
    'Top requesters',
    ['Requester', 'Requests', 'Grants', 'Access time'],
    report.topRequesters.map((r) => [r.requester, String(r.requests), String(r.grants), formatDuration(r.accessSeconds)]),
  );
  const source = report.source.events ? `${report.source.events} sealed audit events (seq ${report.source.firstSeq}–${report.source.lastSeq})` : 'no sealed audit events';
  lines.push('', `_Computed from ${source}${options.unsealed ? `; ${options.unsealed} not sealed yet left out` : ''}. Check them with \`npm run audit -- verify\`._`, '');
  return lines.join('\n');
}

/** Text someone typed (a flag's reason) or a target said (an error), shown literally: a code span on one line, so
 * it can carry no link, emphasis or HTML. */
function mdCode(text: string): string {
  const visible = text.replace(/\s+/g, ' ').replace(/`/g, 'ˋ').trim().slice(0, 500);
  return visible ? `\`${visible}\`` : '';
}

/** A table cell: one line, pipes escaped; links we built are kept as they are. */
function cell(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
}
