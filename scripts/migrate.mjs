// `npm run db:migrate`: applies prisma/migrations/* exactly as `prisma migrate deploy` would
// (same _prisma_migrations bookkeeping, checksums and advisory lock). Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import connectionErrors from './connection-errors.cjs';
import { openSchemaEngine, filters } from './schema-engine.mjs';

const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../prisma/migrations');

export async function migrate(databaseUrl) {
  const migrationDirectories = fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok', value: fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8') },
      },
    }));
  const engine = await openSchemaEngine(databaseUrl);
  const result = await engine.applyMigrations({
    migrationsList: {
      baseDir: migrationsDir,
      lockfile: { path: 'migration_lock.toml', content: fs.readFileSync(path.join(migrationsDir, 'migration_lock.toml'), 'utf8') },
      shadowDbInitScript: '',
      migrationDirectories,
    },
    filters,
  });
  return result.appliedMigrationNames;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (fs.existsSync('.env')) process.loadEnvFile('.env');
  // The tables' owner. Without it, the bot's own DATABASE_URL (a quick start with one role; the bot then warns that
  // the audit trail is only tamper-evident: README, "Two database roles").
  const variable = process.env.MIGRATION_DATABASE_URL ? 'MIGRATION_DATABASE_URL' : 'DATABASE_URL';
  const url = process.env[variable];
  if (!url) {
    console.error('db:migrate: neither MIGRATION_DATABASE_URL nor DATABASE_URL is set (see .env.example)');
    process.exit(1);
  }
  // The schema engine says only "User was denied access on the database (not available)"; a plain connection first
  // says which user, host and database, why it failed and what to run (scripts/connection-errors.cjs).
  let unreachable;
  try {
    unreachable = await connectionErrors.probePostgres(url);
  } catch (error) {
    unreachable = error; // not a URL pg can parse
  }
  if (unreachable) {
    console.error(`db:migrate: ${connectionErrors.formatExplanation(connectionErrors.explainPostgres(unreachable, url, variable, 'owner'))}`);
    process.exit(1);
  }
  try {
    const applied = await migrate(url);
    console.log(applied.length ? `db:migrate: applied ${applied.join(', ')}` : 'db:migrate: database is up to date');
    process.exit(0);
  } catch (error) {
    // Run as the bot's role, a pending migration fails for lack of rights; say which role ran it.
    const as = process.env.MIGRATION_DATABASE_URL ? '' : " (run as DATABASE_URL, because MIGRATION_DATABASE_URL is not set: migrations need the tables' owner)";
    console.error(`db:migrate: failed${as}: ${error?.message ?? error}`);
    process.exit(1);
  }
}
