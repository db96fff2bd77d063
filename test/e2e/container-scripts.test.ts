import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_BOT_TOKEN, TEST_SIGNING_SECRET } from '../support/bot-harness';
import { FakeSlackApi } from '../support/fake-slack-api';
import { closedPort, runToExit } from '../support/run-main';
import { waitFor } from '../support/wait';
import { offlinePolicy } from './policy-fixture';

/** The image's entrypoint (scripts/docker-entrypoint.sh) and health command (scripts/healthcheck.mjs), run as the
 * image runs them, in a directory laid out like /app: scripts/, prisma/ and node_modules/ from the checkout, and a dist/main.js that
 * loads the TypeScript sources. No Docker engine here; everything else is real. */
const ROOT = path.resolve(__dirname, '../..');
const slack = new FakeSlackApi({ expectedToken: TEST_BOT_TOKEN });
const policyYaml = offlinePolicy('container');

function appDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'breakglass-app-'));
  // Copied, not linked: migrate.mjs runs its main block only when started by its own path.
  cpSync(path.join(ROOT, 'scripts'), path.join(dir, 'scripts'), { recursive: true });
  symlinkSync(path.join(ROOT, 'prisma'), path.join(dir, 'prisma'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  mkdirSync(path.join(dir, 'dist'));
  writeFileSync(
    path.join(dir, 'dist/main.js'),
    `require(${JSON.stringify(path.join(ROOT, 'test/support/swc-register.cjs'))});\nrequire(${JSON.stringify(path.join(ROOT, 'src/main.ts'))});\n`,
  );
  writeFileSync(path.join(dir, 'breakglass.yaml'), policyYaml);
  return dir;
}

function entrypoint(dir: string, env: Record<string, string | undefined>, args: string[]) {
  const child = spawn(path.join(dir, 'scripts/docker-entrypoint.sh'), args, { cwd: '/', env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

const healthcheck = (port: number, ...args: string[]) => runToExit('scripts/healthcheck.mjs', { env: { PORT: String(port) }, args, timeoutMs: 10_000 });

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

beforeAll(() => slack.start());
afterAll(() => slack.stop());

describe('the image entrypoint and health command', () => {
  it('applies the migrations, becomes the bot (exec: same pid, args passed), is healthy, stops cleanly on SIGTERM', async () => {
    const dir = appDir();
    const port = await closedPort();
    const run = entrypoint(
      dir,
      {
        MIGRATION_DATABASE_URL: process.env.TEST_OWNER_DATABASE_URL,
        DATABASE_URL: process.env.TEST_DATABASE_URL,
        REDIS_URL: process.env.TEST_REDIS_URL,
        SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: slack.url,
        BREAKGLASS_POLICY: path.join(dir, 'breakglass.yaml'),
        BREAKGLASS_QUEUE: 'bg-container-scripts',
        PORT: String(port),
      },
      ['--role=web'],
    );
    try {
      await waitFor(() => run.output().includes('"breakglass is up"'), 'the bot to be up', 30_000);
      expect(run.output()).toMatch(/^db:migrate: database is up to date\n/);
      expect(run.output()).toContain('"role":"web"');
      // exec: the entrypoint's process is now node running dist/main.js, so SIGTERM reaches the bot itself.
      const cmdline = readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline.slice(0, 1).map((arg) => path.basename(arg))).toEqual([path.basename(process.execPath)]);
      expect(cmdline.slice(1)).toEqual(['dist/main.js', '--role=web', '']);

      expect(await healthcheck(port)).toMatchObject({ code: 0, stderr: '' });
      expect(await healthcheck(port, '/readyz')).toMatchObject({ code: 0, stderr: '' });
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('"signal":"SIGTERM"');
  });

  it('a failed migration stops the start with its explanation, and the bot never runs', async () => {
    const dir = appDir();
    const url = process.env.TEST_OWNER_DATABASE_URL!.replace(/\/\/[^:@/]+/, '//no_such_owner');
    const run = entrypoint(dir, { MIGRATION_DATABASE_URL: url, DATABASE_URL: process.env.TEST_DATABASE_URL, PORT: String(await closedPort()) }, ['--role=worker']);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('db:migrate: connecting to PostgreSQL at 127.0.0.1:5432');
    expect(run.output()).toContain('the role "no_such_owner" does not exist');
    // That one line, and nothing from the bot.
    expect(run.output().trim().split('\n')).toHaveLength(1);
    expect(run.output()).not.toContain('"service":"breakglass"');
  });

  it('the health command fails, saying why, when nothing listens, when the bot answers an error, and when it hangs', async () => {
    const refused = await healthcheck(await closedPort());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^healthcheck: http:\/\/127\.0\.0\.1:\d+\/healthz failed: ECONNREFUSED\n$/);

    const failing = await serve((_req, res) => res.writeHead(503).end());
    const hanging = await serve(() => {});
    try {
      expect(await healthcheck(failing.port, '/readyz')).toMatchObject({ code: 1, stderr: `healthcheck: http://127.0.0.1:${failing.port}/readyz answered 503\n` });
      const started = Date.now();
      expect(await healthcheck(hanging.port)).toMatchObject({ code: 1, stderr: `healthcheck: http://127.0.0.1:${hanging.port}/healthz failed: no answer within 3000 ms\n` });
      // Under the image's HEALTHCHECK --timeout=5s.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      hanging.server.closeAllConnections();
      await Promise.all([failing, hanging].map(({ server }) => new Promise((resolve) => server.close(resolve))));
    }
  });
});
