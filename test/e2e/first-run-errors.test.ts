import { TEST_BOT_TOKEN, TEST_SIGNING_SECRET } from '../support/bot-harness';
import { FakeSlackApi } from '../support/fake-slack-api';
import { closedPort, type Finished, runToExit } from '../support/run-main';
import { offlinePolicy } from './policy-fixture';

/** A new user's first `npm start` with something wrong (README, .env.example): every start-up failure says what it
 * tried (no password), why it failed and the next step, once, and the process exits 1 within seconds. */
const PASSWORD = 'Pw-first-run-9';
const slack = new FakeSlackApi({ expectedToken: TEST_BOT_TOKEN });
const policyYaml = offlinePolicy('first_run');
const withPassword = (url: string) => {
  const parsed = new URL(url);
  parsed.password = PASSWORD;
  return parsed.toString();
};

beforeAll(() => slack.start());
afterAll(() => slack.stop());

async function start(overrides: Record<string, string>): Promise<Finished> {
  return runToExit('src/main.ts', {
    env: {
      SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      DATABASE_URL: process.env.TEST_DATABASE_URL,
      REDIS_URL: process.env.TEST_REDIS_URL,
      PORT: String(await closedPort()),
      BREAKGLASS_POLICY: 'breakglass.yaml',
      BREAKGLASS_QUEUE: 'bg-first-run',
      LOG_LEVEL: 'info',
      ...overrides,
    },
    files: { 'breakglass.yaml': policyYaml },
  });
}

/** The one fatal line and the stderr line say the same; nothing else at warn or above repeats the failure. */
function theFailure(run: Finished): { fatal: Record<string, any>; said: string } {
  if (run.code !== 1 || !run.lines.some((line) => line.level === 60)) throw new Error(`expected one fatal line and exit 1, got ${run.code}:\n${run.stdout}\n${run.stderr}`);
  const fatal = run.lines.filter((line) => line.level === 60);
  expect(fatal).toHaveLength(1);
  const said = run.stderr.split('\n').find((line) => line.startsWith('breakglass: '))!;
  expect(said).toBeDefined();
  expect(`breakglass: ${fatal[0].msg}`).toBe(`breakglass: could not start: ${said.slice('breakglass: '.length)}`);
  expect(`${run.stdout}${run.stderr}`).not.toContain(PASSWORD);
  // Nothing else on stderr (BullMQ's connection errors, stack traces): one line a person reads.
  expect(run.stderr.trim().split('\n')).toEqual([said]);
  return { fatal: fatal[0], said };
}

describe('first start with bad settings', () => {
  it('a database role that does not exist: user, host, database, why, and the CREATE ROLE to run', async () => {
    const url = withPassword(process.env.TEST_DATABASE_URL!.replace(/\/\/[^:@/]+/, '//breakglass_newcomer'));
    const { fatal, said } = theFailure(await start({ DATABASE_URL: url }));
    const database = new URL(url).pathname.slice(1);
    expect(said).toContain(`connecting to PostgreSQL at 127.0.0.1:5432, database "${database}", as user "breakglass_newcomer" (DATABASE_URL) failed`);
    expect(said).toContain('the role "breakglass_newcomer" does not exist (28000)');
    expect(said).toContain(`psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -c "CREATE ROLE breakglass_newcomer LOGIN PASSWORD '…' IN ROLE breakglass_app"`);
    expect(said).toContain('docs/operations.md');
    expect(fatal).toMatchObject({ tried: expect.stringContaining('breakglass_newcomer'), why: expect.any(String), next: expect.stringContaining('CREATE ROLE') });
  });

  it('a database that does not exist: the CREATE DATABASE to run', async () => {
    const url = withPassword(process.env.TEST_DATABASE_URL!.replace(/\/[^/?]+(\?|$)/, '/breakglass_not_created$1'));
    const { said } = theFailure(await start({ DATABASE_URL: url }));
    expect(said).toContain('the database "breakglass_not_created" does not exist (3D000)');
    expect(said).toContain('CREATE DATABASE breakglass_not_created OWNER breakglass_owner');
  });

  it('no PostgreSQL at that address: connection refused, start one or fix the host and port', async () => {
    const port = await closedPort();
    const { said } = theFailure(await start({ DATABASE_URL: `postgresql://breakglass_bot:${PASSWORD}@127.0.0.1:${port}/breakglass` }));
    expect(said).toContain(`connecting to PostgreSQL at 127.0.0.1:${port}, database "breakglass", as user "breakglass_bot"`);
    expect(said).toContain('connection refused');
    expect(said).toContain('start PostgreSQL');
  });

  it('no Redis: which address, refused, how to start one; one warning, not one per reconnection', async () => {
    const port = await closedPort();
    const run = await start({ REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}` });
    const { said } = theFailure(run);
    expect(said).toBe(
      `breakglass: connecting to Redis at 127.0.0.1:${port} (REDIS_URL) failed: nothing accepts connections at 127.0.0.1:${port} (connection refused). Next: start Redis (\`redis-server\`, or \`docker compose --profile dev up -d redis-dev\` on 127.0.0.1:6379), or correct the host and port in REDIS_URL.`,
    );
    const warnings = run.lines.filter((line) => line.level === 40 && /Redis/.test(line.msg));
    expect(warnings.length).toBeLessThanOrEqual(1);
    expect(run.lines.filter((line) => line.msg === 'redis connection error')).toEqual([]);
  });

  it('no route to Slack: which URL, why, what to check; within seconds, not an endless "fetch failed"', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/api/`;
    const started = Date.now();
    const run = await start({ SLACK_API_URL: url });
    const { fatal, said } = theFailure(run);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(said).toContain(`calling Slack's auth.test at ${url}auth.test (SLACK_API_URL) failed: cannot reach Slack: fetch failed (ECONNREFUSED)`);
    expect(said).toContain('check that this machine resolves 127.0.0.1 and may open HTTPS connections to it');
    expect(fatal.next).toContain('SLACK_API_URL');
    expect(run.lines.filter((line) => line.level >= 40 && /http request failed/.test(line.msg))).toEqual([]);
  });

  it('a worker starts without Slack (expiries must go on), says so once, and stops cleanly', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/api/`;
    const run = await runToExit('src/main.ts', {
      env: {
        SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
        SLACK_API_URL: url,
        DATABASE_URL: process.env.TEST_DATABASE_URL,
        REDIS_URL: process.env.TEST_REDIS_URL,
        PORT: String(await closedPort()),
        BREAKGLASS_POLICY: 'breakglass.yaml',
        BREAKGLASS_QUEUE: 'bg-first-run-worker',
        BREAKGLASS_ROLE: 'worker',
        LOG_LEVEL: 'info',
      },
      files: { 'breakglass.yaml': policyYaml },
      stopWhen: (stdout) => stdout.includes('"msg":"breakglass is up"'),
    });
    expect(run.lines.filter((line) => line.level === 60)).toEqual([]);
    const warnings = run.lines.filter((line) => line.level === 40 && String(line.msg).startsWith('starting without Slack'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].why).toContain('cannot reach Slack');
    expect(run.lines.some((line) => line.msg === 'breakglass is up' && line.role === 'worker')).toBe(true);
    expect(run.code).toBe(0);
  });

  it('a token Slack refuses: says so and where to copy the right one', async () => {
    const { said } = theFailure(await start({ SLACK_BOT_TOKEN: 'xoxb-wrong-test-token' }));
    expect(said).toContain('Slack refused the token (invalid_auth)');
    expect(said).toContain('OAuth & Permissions');
    expect(said).not.toContain('xoxb-wrong-test-token');
  });
});

describe('npm run db:migrate with bad settings', () => {
  it('names the user, host and database, why, and the CREATE ROLE for the owner', async () => {
    const url = withPassword(process.env.TEST_OWNER_DATABASE_URL!.replace(/\/\/[^:@/]+/, '//breakglass_owner_typo'));
    const run = await runToExit('scripts/migrate.mjs', { env: { MIGRATION_DATABASE_URL: url } });
    expect(run.code).toBe(1);
    const database = new URL(url).pathname.slice(1);
    expect(run.stderr.trim()).toBe(
      `db:migrate: connecting to PostgreSQL at 127.0.0.1:5432, database "${database}", as user "breakglass_owner_typo" (MIGRATION_DATABASE_URL) failed: the role "breakglass_owner_typo" does not exist (28000). Next: create it as an administrator: psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -c "CREATE ROLE breakglass_owner_typo LOGIN PASSWORD '…'" (docs/operations.md, "Database roles", creates the owner, breakglass_app and the bot's login).`,
    );
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('still applies migrations when the connection works', async () => {
    const run = await runToExit('scripts/migrate.mjs', { env: { MIGRATION_DATABASE_URL: process.env.TEST_OWNER_DATABASE_URL } });
    expect(run).toMatchObject({ code: 0, stdout: 'db:migrate: database is up to date\n' });
  });
});
