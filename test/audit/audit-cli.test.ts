import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPrisma, type Db } from '../../src/db/prisma';
import { createOwnerDb, truncateAll } from '../support/databases';
import { addEvent, createRequest, parseCsv, seal, tamper } from './audit-fixtures';
import { audit, ROOT, run } from './run-audit-cli';

const DAY = 86_400_000;

/** The bot's role writes the events (and `npm run audit` runs as it); `owner` tampers, as only the owner can. */
let db: Db;
let owner: Db;
let request: { id: string; number: number };

beforeAll(async () => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
  owner = createOwnerDb();
});

beforeEach(async () => {
  await truncateAll();
  request = await createRequest(db);
  const now = Date.now();
  await addEvent(db, { requestId: request.id, actor: 'U0ALICE', action: 'REQUESTED', details: { reason: 'a, "quoted"\nreason' }, createdAt: new Date(now - 40 * DAY) });
  await addEvent(db, { requestId: request.id, actor: 'U0BOB', action: 'APPROVAL_RECORDED', createdAt: new Date(now - 2 * DAY) });
  await addEvent(db, { requestId: null, actor: '+SUM(1)', action: 'REVOKE_ALERTED', createdAt: new Date(now - DAY) });
  await addEvent(db, { requestId: request.id, actor: 'system', action: 'GRANTED' });
  await seal(db);
});

afterAll(async () => {
  await db.$disconnect();
  await owner.$disconnect();
});

describe('npm run audit -- verify', () => {
  it('exits 0 on an intact chain and prints the head to keep', async () => {
    const result = await audit(['verify']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const head = await db.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    expect(result.stdout).toBe(
      `Audit chain intact: 4 events checked.\nHead: 4:${head.hash}\n(keep it outside the database; later runs check it with --known-head 4:${head.hash})\n`,
    );
  });

  it('checks a head recorded earlier, which catches a rewrite of the whole chain', async () => {
    const third = await db.auditEvent.findUniqueOrThrow({ where: { seq: 3 } });
    expect((await audit(['verify', '--known-head', `3:${third.hash}`])).code).toBe(0);
    // Rewriting the whole chain from seq 2 on, head included, as only a superuser can: verify alone is satisfied.
    await tamper(
      owner,
      `UPDATE "AuditEvent" SET actor = 'U0MALLORY' WHERE seq = 2`,
      `DO $$ DECLARE e RECORD; previous TEXT; BEGIN
         SELECT hash INTO previous FROM "AuditEvent" WHERE seq = 1;
         FOR e IN SELECT * FROM "AuditEvent" WHERE seq >= 2 ORDER BY seq LOOP
           UPDATE "AuditEvent" SET "prevHash" = previous, hash = audit_event_hash(previous, e.seq, e."requestId", e.actor, e.action, e.details, e."createdAt") WHERE id = e.id RETURNING hash INTO previous;
         END LOOP;
         UPDATE "AuditChainHead" SET hash = previous;
       END $$`,
    );
    expect((await audit(['verify'])).code).toBe(0);
    const result = await audit(['verify', '--known-head', `3:${third.hash}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`[known-head-mismatch] seq 3 (event id ${third.id}) no longer has the recorded hash ${third.hash}`);
    const beyond = await audit(['verify', '--known-head', `9:${third.hash}`]);
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toContain('[known-head-mismatch] the recorded head seq 9 is no longer in the chain');
    expect((await audit(['verify', '--known-head', '3:abc'])).stderr).toMatch(/^audit: --known-head "3:abc" is not <seq>:<64 hex digits>/);
  });

  it('exits 1 and says where the chain breaks', async () => {
    await tamper(owner, `UPDATE "AuditEvent" SET details = '{"reason": "nothing to see"}' WHERE seq = 1`, 'DELETE FROM "AuditEvent" WHERE seq = 3');
    const edited = await db.auditEvent.findUniqueOrThrow({ where: { seq: 1 } });
    const result = await audit(['verify']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Audit chain BROKEN: 2 problems in 3 events checked \(head 4:[0-9a-f]{64}\)\.\n/);
    expect(result.stderr).toContain(`[edited] seq 1 (event id ${edited.id}, BG-${request.number}) was edited`);
    expect(result.stderr).toContain('[missing-events] event seq 3 is missing between seq 2 and 4: deleted');
  });

  it('exits 2 on usage errors and 3 when the database cannot be reached', async () => {
    const usage = async (args: string[], env?: Record<string, string | undefined>) => {
      const result = await audit(args, { env });
      expect(result.code).toBe(2);
      return result.stderr;
    };
    expect(await usage([])).toMatch(/^audit: say what to do: verify, export or report\n\nUsage:/);
    expect(await usage(['verfy'])).toMatch(/^audit: unknown command "verfy": use verify, export or report/);
    expect(await usage(['verify', 'export'])).toMatch(/one command at a time/);
    expect(await usage(['verify', '--since', '1d'])).toMatch(/--since belongs to export, not verify/);
    expect(await usage(['export', '--since', '1d', '--known-head', '1:x'])).toMatch(/--known-head belongs to verify/);
    expect(await usage(['export', '--sinse', '1d'])).toMatch(/^audit: Unknown option '--sinse'/);
    expect(await usage(['export'])).toMatch(/^audit: since is required/);
    expect(await usage(['export', '--since', 'last week'])).toMatch(/^audit: since "last week" is not a duration/);
    expect(await usage(['export', '--since', '1d', '--format', 'xlsx'])).toMatch(/format "xlsx" is not one of csv, json/);
    expect(await usage(['verify'], { DATABASE_URL: undefined })).toMatch(/DATABASE_URL is not set/);
    const help = await audit(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('npm run audit -- export --since <when>');

    const unreachable = await audit(['verify'], { env: { DATABASE_URL: 'postgresql://postgres:hunter2-secret@127.0.0.1:1/breakglass' } });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^audit: verify failed: .*reach database server/);
    expect(unreachable.stderr).not.toContain('hunter2-secret');

    const unwritable = await audit(['export', '--since', '1d', '--output', '/nonexistent-dir/audit.csv']);
    expect(unwritable).toMatchObject({ code: 3, stdout: '' });
    expect(unwritable.stderr).toMatch(/^audit: export failed: ENOENT/);
  });
});

describe('npm run audit -- export', () => {
  it('writes CSV to stdout, filtered by since and request', async () => {
    const result = await audit(['export', '--since', '30d', '--format', 'csv', '--request', `BG-${request.number}`]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [header, ...records] = parseCsv(result.stdout);
    expect(header).toEqual(['seq', 'createdAt', 'request', 'requestId', 'actor', 'action', 'details', 'prevHash', 'hash']);
    expect(records.map((record) => [record[0], record[2], record[4], record[5]])).toEqual([
      ['2', `BG-${request.number}`, 'U0BOB', 'APPROVAL_RECORDED'],
      ['4', `BG-${request.number}`, 'system', 'GRANTED'],
    ]);
  });

  it('writes JSON Lines to --output, with until, and defuses nothing in JSON', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bg-audit-out-'));
    const result = await audit(['export', '--since', '60d', '--until', '12h', '--format', 'json', '--output', path.join(dir, 'audit.jsonl')], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(result.stderr).toBe(`audit: wrote 3 events to ${path.join(dir, 'audit.jsonl')}\n`);
    const rows = readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((row) => [row.seq, row.actor])).toEqual([
      [1, 'U0ALICE'],
      [2, 'U0BOB'],
      [3, '+SUM(1)'],
    ]);
    expect(rows[0].details).toBe('{"reason": "a, \\"quoted\\"\\nreason"}');
  });

  it('reads DATABASE_URL from .env in the working directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bg-audit-env-'));
    writeFileSync(path.join(dir, '.env'), `DATABASE_URL=${process.env.TEST_DATABASE_URL}\n`);
    const result = await audit(['export', '--since', '36h', '--format', 'csv'], { cwd: dir, env: { DATABASE_URL: undefined } });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(parseCsv(result.stdout).map((record) => record[4])).toEqual(['actor', "'+SUM(1)", 'system']);
  });
});

describe('the npm script', () => {
  // `npm run audit` builds dist/ first when it is missing or older than src/ (a fresh clone), then runs it.
  it('runs the compiled CLI, building it when needed, and keeps stdout clean with -s', async () => {
    const result = await run('npm', ['run', '-s', 'audit', '--', 'export', '--since', '30d', '--format', 'json'], {
      cwd: ROOT,
      env: { DATABASE_URL: process.env.TEST_DATABASE_URL, HOME: process.env.HOME },
    });
    expect(result.code).toBe(0);
    expect(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).seq),
    ).toEqual([2, 3, 4]);
    const verify = await run('npm', ['run', '-s', 'audit', '--', 'verify'], { cwd: ROOT, env: { DATABASE_URL: process.env.TEST_DATABASE_URL, HOME: process.env.HOME } });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('Audit chain intact: 4 events checked');
  }, 180_000);
});
