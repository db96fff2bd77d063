import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';

/** Recreates the test databases and applies the migrations with the same script `npm run db:migrate` uses. */
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
  await admin.end();
  const withDatabase = (name: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  process.env.TEST_DATABASE_URL = withDatabase(testDb);
  process.env.TEST_TARGET_DATABASE_URL = withDatabase(targetDb);
  execFileSync(process.execPath, [path.join(__dirname, '../../scripts/migrate.mjs')], {
    env: { ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL },
    stdio: 'inherit',
  });
}
