import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { TEST_BOT_ROLE } from './databases';

const TEST_BOT_PASSWORD = 'breakglass-test-bot';

/**
 * Recreates the test databases and applies the migrations with the same script `npm run db:migrate` uses, as the
 * owner (the admin user). Then the two URLs every test uses, like a deployment's two:
 * - TEST_DATABASE_URL: the bot's restricted role (what DATABASE_URL is in production). The bot under test, and
 *   whatever test code plays the bot, connect with it;
 * - TEST_OWNER_DATABASE_URL: the owner (what MIGRATION_DATABASE_URL is): test code that empties tables, plays an
 *   attacker with the owner's password, or otherwise needs more than the bot may do.
 */
export default async function globalSetup(): Promise<void> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_REDIS_URL ??= 'redis://127.0.0.1:6379';
  // A suffix keeps two checkouts (git worktrees) on one machine from dropping each other's databases.
  const suffix = (process.env.BREAKGLASS_TEST_DB_SUFFIX ?? '').replace(/[^a-z0-9_]/g, '');
  const testDb = `breakglass_test${suffix}`;
  const targetDb = `breakglass_target${suffix}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of [testDb, targetDb]) {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  }
  const withDatabase = (name: string, role?: { user: string; password: string }) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    if (role) {
      url.username = role.user;
      url.password = role.password;
    }
    return url.toString();
  };
  process.env.TEST_OWNER_DATABASE_URL = withDatabase(testDb);
  process.env.TEST_TARGET_DATABASE_URL = withDatabase(targetDb);
  execFileSync(process.execPath, [path.join(__dirname, '../../scripts/migrate.mjs')], {
    env: { ...process.env, MIGRATION_DATABASE_URL: process.env.TEST_OWNER_DATABASE_URL, DATABASE_URL: '' },
    stdio: 'inherit',
  });
  await ensureBotRole(admin);
  await admin.end();
  process.env.TEST_DATABASE_URL = withDatabase(testDb, { user: TEST_BOT_ROLE, password: TEST_BOT_PASSWORD });
}

/** Creates the bot's LOGIN role when it is missing and makes it a member of breakglass_app; tolerates another test
 * run (another DB suffix) doing the same at the same moment. */
async function ensureBotRole(admin: Client): Promise<void> {
  const statements = [`CREATE ROLE ${TEST_BOT_ROLE} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${TEST_BOT_PASSWORD}'`, `GRANT breakglass_app TO ${TEST_BOT_ROLE}`];
  for (const sql of statements) {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(sql);
        break;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        // The role exists already (42710), or two runs wrote the same catalog row at once (23505, XX000 "tuple
        // concurrently updated"): the other run did the same, so try once more to be sure it holds.
        if (code === '42710') break;
        if (!['23505', 'XX000'].includes(code) || attempt >= 5) throw error;
      }
    }
  }
}
