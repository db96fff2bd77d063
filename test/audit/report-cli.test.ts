import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPrisma, type Db } from '../../src/db/prisma';
import { computeAccessReport } from '../../src/domain/access-report';
import { reportJson } from '../../src/reports/report-formats';
import { truncateAll } from '../support/databases';
import { events, refs, since, until } from '../support/report-history';
import { addEvent, createRequest, parseCsv, seal } from './audit-fixtures';
import { audit } from './run-audit-cli';

const PERIOD = ['--since', since.toISOString(), '--until', until.toISOString()];
let db: Db;
let unsealedId: string;

beforeAll(async () => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
  await truncateAll();
  // The week of report-history.ts, written as the bot writes it: the requests, then their events, sealed.
  for (const ref of refs.values()) {
    await createRequest(db, {
      id: ref.requestId,
      requesterId: ref.requesterId,
      resourceId: ref.resourceId,
      roleId: ref.roleId,
      channelId: ref.channelId!,
      messageTs: ref.messageTs,
    });
  }
  for (const event of events) await addEvent(db, { requestId: event.requestId, actor: event.actor, action: event.action, details: event.details, createdAt: event.at });
  await seal(db);
  // Committed a moment ago and not sealed yet: not in the chain verify checked, so not in the report either.
  unsealedId = (await addEvent(db, { requestId: [...refs.keys()][1], actor: 'U0APPROVER2', action: 'DENIED', createdAt: new Date(until.getTime() - 1000) })).id.toString();
});

afterAll(async () => {
  await db.$disconnect();
});

describe('npm run audit -- report', () => {
  test('json: the same report as computed from the events directly, from the sealed events verify checks', async () => {
    const result = await audit(['report', ...PERIOD, '--format', 'json', '--workspace', 'https://acme.slack.com']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const printed = JSON.parse(result.stdout);
    const expected = JSON.parse(JSON.stringify(reportJson(computeAccessReport({ since, until }, events, refs), { workspaceUrl: 'https://acme.slack.com', unsealed: 1 })));
    const { source, ...rest } = printed;
    const { source: _, ...expectedRest } = expected;
    expect(rest).toEqual(expectedRest);
    expect(printed.totals).toMatchObject({ requests: 7, grants: 6, emergencyGrants: 4, denied: 1, timedOut: 1, failedRevocations: 2 });
    expect(printed.unsealedLeftOut).toBe(1);
    // Computed from sealed events only, all within the chain verify checks; the one verify complains about (never
    // sealed, here: as if no sealer ran) is the one the report left out.
    const last = await db.auditEvent.findUniqueOrThrow({ where: { seq: BigInt(source.lastSeq) } });
    const verified = await audit(['verify', '--known-head', `${source.lastSeq}:${last.hash}`]);
    expect(verified.code).toBe(1);
    expect(verified.stderr).toContain('Audit chain BROKEN: 1 problem in');
    expect(verified.stderr).toContain(`[unsealed] event id ${unsealedId}`);
  });

  test('md and csv, to a file or stdout', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bg-report-out-'));
    const file = path.join(dir, 'report.md');
    const md = await audit(['report', ...PERIOD, '--format', 'md', '--output', file]);
    expect(md.code).toBe(0);
    expect(md.stderr).toMatch(/^audit: wrote the report of \d+ sealed events \(1 not sealed yet left out\) to /);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`# Access report ${since.toISOString()} – ${until.toISOString()}`);
    expect(text).toContain('- Emergency grants: 4 (1 flagged, 1 overdue, 1 pending, 1 reviewed)');
    expect(text).toContain('| BG-4 (C0INCIDENT/1700000000.000004) | U0ALICE | write on payments-db |');
    const csv = await audit(['report', ...PERIOD, '--format', 'csv']);
    expect(csv.code).toBe(0);
    const rows = parseCsv(csv.stdout);
    expect(rows.filter((row) => row[0] === 'failed_revocation').map((row) => [row[1], row[6]])).toEqual([
      ['BG-8', 'still failing'],
      ['BG-4', 'revoked 2026-11-06T04:00:01.000Z'],
    ]);
  });

  test('the default: the last 7 days as Markdown', async () => {
    const result = await audit(['report']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# Access report /);
    expect(result.stdout).toContain('- Requests: 0'); // the fixture week lies further back
  });

  test.each([
    [['report', '--format', 'pdf'], 'format "pdf" is not one of md, csv, json'],
    [['report', '--since', 'last week'], 'since "last week" is not a duration'],
    [['report', '--since', '1d', '--until', '7d'], 'must be after since'],
    [['report', '--request', 'BG-1'], '--request belongs to export, not report'],
    [['report', '--workspace', 'acme'], 'workspace "acme" is not a Slack workspace URL'],
    [['export', '--since', '1d', '--workspace', 'https://acme.slack.com'], '--workspace belongs to report'],
    [['report', '--colour'], "Unknown option '--colour'"],
  ])('%j: usage error, exit 2', async (args, message) => {
    const result = await audit(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });
});
