import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { BotHarness } from '../support/bot-harness';
import { truncateAll } from '../support/databases';
import { e2ePolicy } from './policy-fixture';

/** The two database roles from the operator's side: the bot warns when its DATABASE_URL role could rewrite the
 * audit trail (a single URL for everything: the quick start), and `npm run db:migrate` runs as the owner. Every
 * other test runs the bot as a member of breakglass_app; test/audit/attacks.test.ts shows what that role may not do. */
const ROOT = path.resolve(__dirname, '../..');
/** A login with more rights than breakglass_app gives: UPDATE and DELETE on the audit events. */
const LOOSE_ROLE = 'breakglass_test_loose_bot';
const policyYaml = e2ePolicy({
  login: 'alice',
  readRole: 'bg_read',
  writeRole: 'bg_write',
  postgresUrl: process.env.TEST_TARGET_DATABASE_URL!,
  webhookUrl: 'http://127.0.0.1:9/unused',
  webhookSecret: 'unused-secret',
});
let harness: BotHarness | undefined;

beforeAll(async () => {
  await truncateAll();
});

afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

async function startBot(databaseUrl: string): Promise<BotHarness> {
  harness = await new BotHarness(policyYaml, { databaseUrl, captureLogs: true }).start();
  return harness;
}

/** The warnings the bot logged about its database role. */
const roleWarnings = (bot: BotHarness) =>
  bot.logs
    .map((line) => JSON.parse(line))
    .filter((line) => line.module === 'audit-role')
    .map((line) => ({ level: line.level, msg: line.msg }));

async function readyz(bot: BotHarness) {
  const response = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
  return { status: response.status, body: await response.json() };
}

function withRole(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

describe('the start-up check of the bot database role', () => {
  it('says nothing when the bot runs as a member of breakglass_app', async () => {
    const bot = await startBot(process.env.TEST_DATABASE_URL!);
    expect(roleWarnings(bot)).toEqual([]);
    expect(await readyz(bot)).toEqual({ status: 200, body: { status: 'ready', checks: { postgres: 'ok', redis: 'ok', migrations: 'ok' } } });
  });

  it("warns once, in the log and in /readyz, when the bot runs as the tables' owner (one URL for everything)", async () => {
    const owner = new URL(process.env.TEST_OWNER_DATABASE_URL!).username;
    const bot = await startBot(process.env.TEST_OWNER_DATABASE_URL!);
    const warnings = roleWarnings(bot);
    expect(warnings).toEqual([
      { level: 40, msg: expect.stringContaining(`the bot's database role "${owner}" is a superuser: the audit trail is only tamper-evident, not tamper-proof`) },
    ]);
    expect(warnings[0].msg).toContain('member of breakglass_app (DATABASE_URL)');
    expect(warnings[0].msg).toContain('MIGRATION_DATABASE_URL');
    // Still ready: a quick start with one URL keeps working.
    expect(await readyz(bot)).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', redis: 'ok', migrations: 'ok' }, warnings: [warnings[0].msg] },
    });
  });

  it('names the rights a role has beyond appending and reading audit events', async () => {
    const admin = new Client({ connectionString: process.env.TEST_OWNER_DATABASE_URL });
    await admin.connect();
    try {
      // Cluster-wide like every role (another test run may have made it); the grants are this database's only.
      await admin.query(
        `DO $$ BEGIN CREATE ROLE ${LOOSE_ROLE} LOGIN PASSWORD 'loose' IN ROLE breakglass_app; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
      );
      await admin.query(`GRANT UPDATE, DELETE ON "AuditEvent" TO ${LOOSE_ROLE}`);
      const bot = await startBot(withRole(process.env.TEST_OWNER_DATABASE_URL!, LOOSE_ROLE, 'loose'));
      expect(roleWarnings(bot)).toEqual([
        {
          level: 40,
          msg: expect.stringContaining(
            `the bot's database role "${LOOSE_ROLE}" may UPDATE "AuditEvent", may DELETE "AuditEvent": the audit trail is only tamper-evident, not tamper-proof`,
          ),
        },
      ]);
    } finally {
      await admin.query(`REVOKE UPDATE, DELETE ON "AuditEvent" FROM ${LOOSE_ROLE}`);
      await admin.end();
    }
  });
});

describe('npm run db:migrate', () => {
  /** Runs scripts/migrate.mjs in an empty directory (no .env) with only these variables. */
  const migrate = (env: Record<string, string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'scripts/migrate.mjs')],
        { cwd: mkdtempSync(path.join(tmpdir(), 'breakglass-migrate-')), env: { PATH: process.env.PATH, ...env } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });

  it('runs as MIGRATION_DATABASE_URL when it is set, whatever DATABASE_URL says', async () => {
    const result = await migrate({ MIGRATION_DATABASE_URL: process.env.TEST_OWNER_DATABASE_URL!, DATABASE_URL: 'postgresql://nobody:nothing@127.0.0.1:9/none' });
    expect(result).toEqual({ code: 0, stdout: 'db:migrate: database is up to date\n', stderr: '' });
  });

  it('falls back to DATABASE_URL (a quick start with one URL), and says what is missing when neither is set', async () => {
    expect(await migrate({ DATABASE_URL: process.env.TEST_OWNER_DATABASE_URL! })).toMatchObject({ code: 0, stdout: 'db:migrate: database is up to date\n' });
    expect(await migrate({})).toEqual({ code: 1, stdout: '', stderr: 'db:migrate: neither MIGRATION_DATABASE_URL nor DATABASE_URL is set (see .env.example)\n' });
  });
});
