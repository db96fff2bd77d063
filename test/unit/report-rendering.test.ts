import { computeAccessReport, type ReportEvent, type ReportRequestRef } from '../../src/domain/access-report';
import { parseCommand } from '../../src/domain/command';
import { mayReadReports } from '../../src/domain/report-audience';
import { buildAccessReport } from '../../src/slack/blocks/access-report';
import { renderReport } from '../../src/reports/report-formats';
import { parseCsv } from '../audit/audit-fixtures';
import { events, refs, since, until } from '../support/report-history';

const report = computeAccessReport({ since, until }, events, refs);

/** What Slack refuses (as the fake Slack checks it): too many blocks, texts too long or empty, too many fields. */
function slackProblems(blocks: any[]): string[] {
  const problems: string[] = [];
  if (blocks.length > 50) problems.push(`${blocks.length} blocks`);
  for (const block of blocks) {
    const texts = [block.text, ...(block.fields ?? []), ...(block.elements ?? [])].filter(Boolean);
    if (block.fields && block.fields.length > 10) problems.push(`${block.block_id}: ${block.fields.length} fields`);
    for (const text of texts) {
      const max = block.type === 'header' ? 150 : block.fields?.includes(text) ? 2000 : 3000;
      if (!text.text || text.text.length > max) problems.push(`${block.block_id}: text of ${text.text?.length}`);
    }
  }
  return problems;
}

describe('the report in Block Kit', () => {
  const links = new Map([[refs.keys().next().value as string, 'https://test.slack.com/archives/C0INCIDENT/p1700000000000001']]);
  const message = buildAccessReport(report, { links, unsealed: 2 });
  const text = JSON.stringify(message.blocks);

  test('within Slack limits, every section present, items linked to their threads', () => {
    expect(slackProblems(message.blocks as any[])).toEqual([]);
    for (const id of ['totals', 'by_access', 'emergency', 'failed_revocations', 'denied', 'timed_out', 'longest', 'requesters', 'source']) {
      expect((message.blocks as any[]).some((block) => block.block_id === id)).toBe(true);
    }
    expect(text).toContain('<https://test.slack.com/archives/C0INCIDENT/p1700000000000001|BG-1>');
    expect(text).toContain('*still failing*');
    expect(text).toContain('2 not sealed yet left out');
  });

  test("a reviewer's flag reason is shown as code: no mention, no formatting", () => {
    expect(text).not.toContain('<!here>');
    expect(text).toContain('`no incident | *not* &lt;!here&gt; justified`');
  });

  test('a busy month is cut to fit, saying how many more there are', () => {
    const many: ReportEvent[] = [];
    const manyRefs = new Map<string, ReportRequestRef>();
    for (let n = 1; n <= 400; n++) {
      const requestId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      manyRefs.set(requestId, {
        requestId,
        number: n,
        channelId: 'C0INCIDENT',
        messageTs: `1700000000.${n}`,
        requesterId: `U0P${n}`,
        resourceId: 'payments-db',
        roleId: `role-${n}`,
      });
      many.push({
        seq: 2 * n - 1,
        at: new Date(since.getTime() + n * 1000),
        requestId,
        actor: `U0P${n}`,
        action: 'REQUESTED',
        details: { resource: 'payments-db', role: `role-${n}` },
      });
      many.push({ seq: 2 * n, at: new Date(since.getTime() + n * 1000 + 1), requestId, actor: 'U0APPROVER1', action: n % 2 ? 'DENIED' : 'TIMED_OUT', details: {} });
    }
    const big = buildAccessReport(computeAccessReport({ since, until }, many, manyRefs), {
      links: new Map([...manyRefs.keys()].map((id) => [id, `https://test.slack.com/archives/C0INCIDENT/p${id}`])),
    });
    expect(slackProblems(big.blocks as any[])).toEqual([]);
    const denied = (big.blocks as any[]).find((block) => block.block_id === 'denied').text.text as string;
    expect(denied).toMatch(/… and \d+ more$/);
    const shown = denied.split('\n').length - 2;
    expect(denied).toContain(`… and ${200 - shown} more`);
  });
});

describe('the report as Markdown, CSV and JSON', () => {
  test('Markdown: a table per section, threads as links, user text as code with pipes escaped', () => {
    const md = renderReport(report, 'md', { workspaceUrl: 'https://acme.slack.com' });
    expect(md).toContain('## Emergency grants');
    expect(md).toContain('[BG-5](https://acme.slack.com/archives/C0INCIDENT/p1700000000000005)');
    expect(md).toContain('`no incident \\| *not* <!here> justified`');
    expect(md).toMatch(/\| \[BG-8\]\([^)]+\) \| U0GRACE \| read on payments-db \| 2026-11-01T09:00:01.000Z \| 2 \| 7d 23h \| still failing \| `role is in use` \|/);
  });

  test('CSV: one RFC 4180 table, a section column, thread references without a workspace', () => {
    const rows = parseCsv(renderReport(report, 'csv'));
    expect(rows[0]).toEqual(['section', 'request', 'requester', 'resource', 'role', 'at', 'state', 'seconds', 'count', 'detail', 'thread']);
    const emergency = rows.filter((row) => row[0] === 'emergency');
    expect(emergency.map((row) => [row[1], row[6]])).toEqual([
      ['BG-5', 'flagged'],
      ['BG-6', 'overdue'],
      ['BG-7', 'pending'],
      ['BG-4', 'reviewed'],
    ]);
    expect(emergency[0][10]).toBe('C0INCIDENT/1700000000.000005');
    expect(emergency[2][10]).toBe(''); // never posted: no thread
    expect(rows.find((row) => row[0] === 'failed_revocation' && row[1] === 'BG-4')?.slice(6, 10)).toEqual(['revoked 2026-11-06T04:00:01.000Z', '3600', '3', 'timeout']);
  });

  test('JSON: the whole report, with threads', () => {
    const json = JSON.parse(renderReport(report, 'json', { workspaceUrl: 'https://acme.slack.com/' }));
    expect(json.totals.emergencyGrants).toBe(4);
    expect(json.denied[0]).toMatchObject({ request: 'BG-2', by: 'U0APPROVER1', thread: 'https://acme.slack.com/archives/C0INCIDENT/p1700000000000002' });
  });
});

describe('mayReadReports: admins and emergency reviewers', () => {
  const policy = {
    admins: ['U0ADMIN'],
    resources: [{ roles: [{}, { emergency: { reviewers: ['U0REVIEWER', 'S0SECURITY'] } }] }, { roles: [{ emergency: { reviewers: ['U0OTHER'] } }] }],
  };
  const none = new Set<string>();
  test.each([
    ['an admin', 'U0ADMIN', none, true],
    ['a reviewer of one role', 'U0REVIEWER', none, true],
    ['a reviewer of a role of another resource', 'U0OTHER', none, true],
    ['a member of a reviewing user group', 'U0MEMBER', new Set(['S0SECURITY']), true],
    ['someone else', 'U0STRANGER', new Set(['S0OTHERGROUP']), false],
  ])('%s', (_, userId, groupIds, allowed) => {
    expect(mayReadReports(policy, { userId, memberships: groupIds })).toBe(allowed);
  });
  test('a policy without emergency reviewers: admins only', () => {
    expect(mayReadReports({ admins: [], resources: [{ roles: [{}] }] }, { userId: 'U0ADMIN', memberships: none })).toBe(false);
  });
});

describe('/breakglass report [7d|30d]', () => {
  test.each([
    ['report', 7],
    ['report 7d', 7],
    ['REPORT 30D', 30],
  ])('%s', (text, days) => expect(parseCommand(text)).toEqual({ kind: 'report', days }));
  test.each(['report 14d', 'report 7d extra', 'report yesterday'])('%s is refused with the usage', (text) => {
    const parsed = parseCommand(text);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' && parsed.message).toContain('`report` takes the period to cover: `7d` (the default) or `30d`.\nUsage: `/breakglass report [7d|30d]`');
  });
});
