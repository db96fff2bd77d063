import type { KnownBlock } from '@slack/web-api';
import type { AccessReport, ReportItem } from '../../domain/access-report';
import { formatDuration } from '../../domain/duration';
import { inlineCode, mentionUser, slackDate } from './format';
import type { SlackMessage } from './message';

/** Under Slack's 3000 characters per text object, with room for the "and N more" line. */
const MAX_SECTION_TEXT = 2900;
/** Lines per list before "and N more", so a busy month stays readable. */
const MAX_LINES = 15;

export interface ReportMessageOptions {
  /** Thread links by request id (from the workspace's permalinks); a request without one is shown unlinked. */
  links?: ReadonlyMap<string, string>;
  /** Events left out because they were not sealed yet. */
  unsealed?: number;
  /** "Weekly access report" for the digest, "Access report" for /breakglass report. */
  title?: string;
}

/** The review report in Block Kit: a few sections of lines, each within Slack's limits (at most 12 blocks, every
 * text under 3000 characters; longer lists end in "and N more", pointing to `npm run audit -- report`). */
export function buildAccessReport(report: AccessReport, options: ReportMessageOptions = {}): SlackMessage {
  const { totals } = report;
  const link = (item: ReportItem) => {
    const url = options.links?.get(item.requestId);
    return url ? `<${url}|${item.request}>` : item.request;
  };
  const what = (item: ReportItem) => `${link(item)} ${mentionUser(item.requester)} \`${item.role}\` on \`${item.resource}\``;
  const title = `${options.title ?? 'Access report'}: ${day(report.period.since)} – ${day(report.period.until)}`;
  const blocks: KnownBlock[] = [
    { type: 'header', block_id: 'title', text: { type: 'plain_text', text: title.slice(0, 150) } },
    {
      type: 'section',
      block_id: 'totals',
      fields: [
        field('Requests', String(totals.requests)),
        field('Grants', `${totals.grants} (${formatDuration(totals.accessSeconds)} of access)`),
        field('Emergency grants', emergencySummary(report)),
        field('Denied / timed out', `${totals.denied} / ${totals.timedOut}`),
        field('Failed revocations', String(totals.failedRevocations)),
      ],
    },
  ];
  const section = (blockId: string, heading: string, lines: string[], empty: string | null) => {
    if (lines.length === 0 && empty === null) return;
    blocks.push({ type: 'section', block_id: blockId, text: { type: 'mrkdwn', text: linesWithin(`*${heading}*`, lines.length ? lines : [empty ?? '']) } });
  };
  section(
    'by_access',
    'Grants by resource and role',
    report.byResourceRole.map((row) => `\`${row.role}\` on \`${row.resource}\`: ${row.grants} grant${row.grants === 1 ? '' : 's'}, ${formatDuration(row.accessSeconds)}`),
    'No access was held.',
  );
  section(
    'emergency',
    'Emergency grants',
    report.emergency.map((item) => {
      const state = {
        flagged: `:red_circle: *flagged* by ${mentionUser(item.reviewer ?? '')}${item.flagReason ? `: ${inlineCode(item.flagReason, 200)}` : ''}`,
        overdue: `:warning: *review overdue* (due ${item.reviewDueAt ? slackDate(item.reviewDueAt) : '?'})`,
        pending: `review due ${item.reviewDueAt ? slackDate(item.reviewDueAt) : '?'}`,
        reviewed: `:white_check_mark: reviewed by ${mentionUser(item.reviewer ?? '')}${item.late ? ' (late)' : ''}`,
      }[item.state];
      return `${what(item)}, ${slackDate(item.invokedAt)}: ${state}`;
    }),
    'None.',
  );
  section(
    'failed_revocations',
    'Revocations that failed',
    report.failedRevocations.map(
      (item) =>
        `${what(item)}: ${item.attempts} failed attempt${item.attempts === 1 ? '' : 's'} from ${slackDate(item.firstFailedAt)}, ${
          item.resolvedAt ? `revoked after ${formatDuration(item.failingSeconds)}` : `*still failing* after ${formatDuration(item.failingSeconds)}`
        }${item.lastError ? ` (${inlineCode(item.lastError, 120)})` : ''}`,
    ),
    null,
  );
  section(
    'denied',
    'Denied',
    report.denied.map((item) => `${what(item)} by ${mentionUser(item.by)}, ${slackDate(item.at)}`),
    null,
  );
  section(
    'timed_out',
    'Timed out (nobody decided)',
    report.timedOut.map((item) => `${what(item)}, ${slackDate(item.at)}`),
    null,
  );
  section(
    'longest',
    'Longest grants',
    report.longestGrants.map((item) => `${what(item)}: ${formatDuration(item.seconds)}${item.endedAt ? '' : ' (still held)'}${item.emergency ? ' :rotating_light:' : ''}`),
    null,
  );
  section(
    'requesters',
    'Top requesters',
    report.topRequesters.map(
      (row) =>
        `${mentionUser(row.requester)}: ${row.requests} request${row.requests === 1 ? '' : 's'}, ${row.grants} grant${row.grants === 1 ? '' : 's'}, ${formatDuration(row.accessSeconds)}`,
    ),
    null,
  );
  const source = report.source.events
    ? `From ${report.source.events} sealed audit event${report.source.events === 1 ? '' : 's'} (seq ${report.source.firstSeq}–${report.source.lastSeq})`
    : 'From the sealed audit events (none concern this period)';
  const unsealed = options.unsealed ? `; ${options.unsealed} not sealed yet left out` : '';
  blocks.push({
    type: 'context',
    block_id: 'source',
    elements: [{ type: 'mrkdwn', text: `${source}${unsealed}. Check them with \`npm run audit -- verify\`; the full report: \`npm run audit -- report\`.` }],
  });
  const text = `${title}: ${totals.grants} grants, ${totals.emergencyGrants} emergency, ${totals.denied} denied, ${totals.timedOut} timed out, ${totals.failedRevocations} failed revocations`;
  return { text, blocks };
}

function emergencySummary(report: AccessReport): string {
  const count = (state: string) => report.emergency.filter((item) => item.state === state).length;
  if (report.emergency.length === 0) return '0';
  const parts = [`${count('flagged')} flagged`, `${count('overdue')} overdue`, `${count('pending')} pending`, `${count('reviewed')} reviewed`];
  return `${report.emergency.length} (${parts.join(', ')})`;
}

function field(label: string, value: string) {
  return { type: 'mrkdwn' as const, text: `*${label}:*\n${value}` };
}

function day(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The heading and as many lines as fit (at most MAX_LINES and MAX_SECTION_TEXT), then "… and N more". */
export function linesWithin(heading: string, lines: readonly string[], maxChars = MAX_SECTION_TEXT, maxLines = MAX_LINES): string {
  let text = heading;
  for (const [index, line] of lines.entries()) {
    const left = lines.length - index;
    const moreLine = `\n… and ${left} more`;
    const fits = index < maxLines && text.length + 1 + line.length + (left > 1 ? moreLine.length : 0) <= maxChars;
    if (!fits) return `${text}${moreLine}`;
    text += `\n${line}`;
  }
  return text;
}
