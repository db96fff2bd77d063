import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandProvider, type CommandProviderOptions } from '../../src/providers/command-provider';
import { type GrantTarget, ProviderError } from '../../src/providers/types';

const API_TOKEN = 'tok-fixture-secret-0123456789';

/** Real executables standing in for a target system. `access` keeps a marker file per login+grant (grant creates
 * it, revoke deletes it, verify tests it) and, like `record`, writes its argv and environment NUL-separated to
 * $FIXTURE_STATE/<first argument>.argv and .env. */
const FIXTURES: Record<string, string> = {
  record: `#!/bin/sh
printf '%s\\0' "$@" > "$FIXTURE_STATE/$1.argv"
env -0 > "$FIXTURE_STATE/$1.env"
`,
  access: `#!/bin/sh
set -eu
printf '%s\\0' "$@" > "$FIXTURE_STATE/$1.argv"
env -0 > "$FIXTURE_STATE/$1.env"
marker="$FIXTURE_STATE/granted-$2-$3"
case "$1" in
  grant) : > "$marker" ;;
  revoke) rm -f "$marker" ;;
  verify) test -e "$marker" || exit 1 ;;
  extend) test -e "$marker" ;;
esac
`,
  fail: `#!/bin/sh
echo "connecting with token $API_TOKEN" >&2
echo "progress on stdout"
case "\${1:-}" in
  long) head -c 5000 /dev/zero | tr '\\0' x >&2 ;;
  key) printf '%s\\n' "$SIGNING_KEY" | tail -n 1 >&2 ;;
  *) printf 'error: forbidden for token %s:\\tuser cannot\\033[31m create rolebindings\\n\\n' "$API_TOKEN" >&2 ;;
esac
exit 3
`,
  'exit-with': `#!/bin/sh
echo "checked, exiting with $1" >&2
exit "$1"
`,
  slow: `#!/bin/sh
echo $$ > "$FIXTURE_STATE/pid"
exec sleep 30
`,
  stubborn: `#!/bin/sh
echo $$ > "$FIXTURE_STATE/pid"
trap '' TERM
exec sleep 30
`,
  // Leaves a background process holding the output pipes after the script itself is done.
  'background-child': `#!/bin/sh
sleep 5 &
exit 0
`,
  chatty: `#!/bin/sh
head -c 3000000 /dev/zero
`,
};

let binDirectory: string;
let state: string;
const bin = (name: string) => path.join(binDirectory, name);

beforeAll(() => {
  binDirectory = mkdtempSync(path.join(tmpdir(), 'breakglass-command-bin-'));
  for (const [name, script] of Object.entries(FIXTURES)) {
    writeFileSync(bin(name), script);
    chmodSync(bin(name), 0o755);
  }
  writeFileSync(bin('not-executable'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
});

afterAll(() => {
  rmSync(binDirectory, { recursive: true, force: true });
});

beforeEach(() => {
  state = mkdtempSync(path.join(tmpdir(), 'breakglass-command-state-'));
});

afterEach(() => {
  rmSync(state, { recursive: true, force: true });
});

const target: GrantTarget = {
  requestId: 'req-42',
  requestNumber: 42,
  slackId: 'U0ALICE',
  login: 'alice',
  resourceId: 'payments-k8s',
  roleId: 'edit',
  grant: 'edit',
  expiresAt: new Date('2026-11-21T12:30:00.000Z'),
  reason: 'INC-7: stuck payouts — “fix” $(rm -rf ~) `id`; ümlauts\nsecond line',
  ticket: 'INC-7',
};

function provider(overrides: Partial<CommandProviderOptions> = {}): CommandProvider {
  return new CommandProvider({
    grant: [bin('access'), 'grant', '{login}', '{grant}'],
    revoke: [bin('access'), 'revoke', '{login}', '{grant}'],
    verify: [bin('access'), 'verify', '{login}', '{grant}'],
    extend: null,
    timeoutMs: 5_000,
    env: { FIXTURE_STATE: state, API_TOKEN },
    ...overrides,
  });
}

function recordedArgv(name: string): string[] {
  return readFileSync(path.join(state, `${name}.argv`), 'utf8')
    .split('\0')
    .slice(0, -1);
}

function recordedEnv(name: string): Record<string, string> {
  const entries = readFileSync(path.join(state, `${name}.env`), 'utf8')
    .split('\0')
    .slice(0, -1);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('CommandProvider arguments and environment', () => {
  it('substitutes placeholders inside each argument without splitting it', async () => {
    await provider({
      grant: [
        bin('record'),
        'grant',
        '{login}',
        '--binding=bg-{login}-{grant}',
        '{role}@{resource}',
        'BG-{requestNumber} {requestId}',
        '--until={expiresAt}',
        '{slackId}',
        'left as is: {notAPlaceholder}',
      ],
    }).grant(target);
    expect(recordedArgv('grant')).toEqual([
      'grant',
      'alice',
      '--binding=bg-alice-edit',
      'edit@payments-k8s',
      'BG-42 req-42',
      '--until=2026-11-21T12:30:00.000Z',
      'U0ALICE',
      'left as is: {notAPlaceholder}',
    ]);
  });

  it('passes a value with spaces, ";", $(…) and backticks as one literal argument', async () => {
    const hostile = `edit; touch ${state}/pwned1 $(touch ${state}/pwned2) \`touch ${state}/pwned3\` && echo "x"`;
    await provider({ grant: [bin('record'), 'grant', '{grant}', '--role={grant}'] }).grant({ ...target, grant: hostile });
    expect(recordedArgv('grant')).toEqual(['grant', hostile, `--role=${hostile}`]);
    for (const file of ['pwned1', 'pwned2', 'pwned3']) expect(existsSync(path.join(state, file))).toBe(false);
  });

  it('gives the command the request in BREAKGLASS_* variables, reason and ticket only there', async () => {
    await provider().grant(target);
    const env = recordedEnv('grant');
    expect(env).toMatchObject({
      BREAKGLASS_ACTION: 'grant',
      BREAKGLASS_REQUEST_ID: 'req-42',
      BREAKGLASS_REQUEST_NUMBER: '42',
      BREAKGLASS_LOGIN: 'alice',
      BREAKGLASS_GRANT: 'edit',
      BREAKGLASS_ROLE: 'edit',
      BREAKGLASS_RESOURCE: 'payments-k8s',
      BREAKGLASS_SLACK_ID: 'U0ALICE',
      BREAKGLASS_EXPIRES_AT: '2026-11-21T12:30:00.000Z',
      BREAKGLASS_REASON: target.reason,
      BREAKGLASS_TICKET: 'INC-7',
      BREAKGLASS_IDEMPOTENCY_KEY: 'req-42:grant',
    });
    const argv = recordedArgv('grant').join('\n');
    expect(argv).not.toContain('INC-7');
    expect(argv).not.toContain('stuck payouts');

    await provider().revoke({ ...target, ticket: null });
    expect(recordedEnv('revoke')).toMatchObject({ BREAKGLASS_TICKET: '', BREAKGLASS_ACTION: 'revoke' });
  });

  it('sets one idempotency key per logical change', async () => {
    const commands = provider({ extend: [bin('access'), 'extend', '{login}', '{grant}'] });
    await commands.grant(target);
    await commands.verify(target);
    const extended = { ...target, expiresAt: new Date('2026-11-21T13:00:00.000Z') };
    await commands.extend(extended);
    await commands.revoke(target);
    expect(recordedEnv('grant').BREAKGLASS_IDEMPOTENCY_KEY).toBe('req-42:grant');
    expect(recordedEnv('verify').BREAKGLASS_IDEMPOTENCY_KEY).toBe('req-42:verify');
    expect(recordedEnv('extend').BREAKGLASS_IDEMPOTENCY_KEY).toBe('req-42:extend:2026-11-21T13:00:00.000Z');
    expect(recordedEnv('revoke').BREAKGLASS_IDEMPOTENCY_KEY).toBe('req-42:revoke');
  });

  describe('with secrets in the bot environment', () => {
    const botSecrets = {
      SLACK_BOT_TOKEN: 'xoxb-test-fake-bot',
      SLACK_SIGNING_SECRET: 'fake-signing-secret',
      DATABASE_URL: 'postgresql://breakglass:db-password@127.0.0.1/breakglass',
    };

    const saved = Object.fromEntries(Object.keys(botSecrets).map((name) => [name, process.env[name]]));

    beforeEach(() => Object.assign(process.env, botSecrets));
    afterEach(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('passes only PATH, HOME, the config env and BREAKGLASS_* to the command', async () => {
      await provider().grant(target);
      const env = recordedEnv('grant');
      for (const [name, value] of Object.entries(botSecrets)) {
        expect(env[name]).toBeUndefined();
        expect(Object.values(env).join('\n')).not.toContain(value);
      }
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.HOME).toBe(process.env.HOME);
      expect(env.API_TOKEN).toBe(API_TOKEN);
      expect(env.FIXTURE_STATE).toBe(state);
      const names = Object.keys(env).filter((name) => !name.startsWith('BREAKGLASS_'));
      // PWD is set by the shell running the fixture script, not by us.
      expect(names.sort()).toEqual(['API_TOKEN', 'FIXTURE_STATE', 'HOME', 'PATH', 'PWD']);
    });
  });

  it('finds an executable by name on PATH, which the config env may set', async () => {
    const commands = provider({
      grant: ['access', 'grant', '{login}', '{grant}'],
      env: { FIXTURE_STATE: state, PATH: `${binDirectory}:/usr/bin:/bin` },
    });
    await commands.grant(target);
    expect(recordedEnv('grant').PATH).toBe(`${binDirectory}:/usr/bin:/bin`);
  });

  it('closes the command’s input, so one reading it does not wait for the timeout', async () => {
    await provider({ grant: ['cat'], timeoutMs: 2_000 }).grant(target);
  });
});

describe('CommandProvider grant, revoke and verify', () => {
  it('grants, verifies and revokes on the target, idempotently', async () => {
    const commands = provider();
    expect(await commands.verify(target)).toBe(false);
    await commands.grant(target);
    await commands.grant(target);
    expect(await commands.verify(target)).toBe(true);
    expect(await commands.verify({ ...target, grant: 'view' })).toBe(false);
    await commands.revoke(target);
    await commands.revoke(target);
    expect(await commands.verify(target)).toBe(false);
  });

  it('reads verify exit codes: 0 in place, 1 not in place, anything else an error', async () => {
    const verifyExitingWith = (code: string) => provider({ verify: [bin('exit-with'), code] }).verify(target);
    expect(await verifyExitingWith('0')).toBe(true);
    expect(await verifyExitingWith('1')).toBe(false);
    const error = await caught(verifyExitingWith('2'));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('verify command exited with code 2 (expected 0 = in place or 1 = not in place): checked, exiting with 2');
  });

  it('without a verify command, remembers its own last successful grant or revoke per request', async () => {
    const commands = provider({ verify: null });
    expect(await commands.verify(target)).toBe(false);
    await commands.grant(target);
    expect(await commands.verify(target)).toBe(true);
    expect(await commands.verify({ ...target, requestId: 'req-43' })).toBe(false);
    await commands.revoke(target);
    expect(await commands.verify(target)).toBe(false);
    expect(existsSync(path.join(state, 'verify.argv'))).toBe(false);

    const failingGrant = provider({ verify: null, grant: [bin('fail')] });
    await caught(failingGrant.grant(target));
    expect(await failingGrant.verify(target)).toBe(false);

    const failingRevoke = provider({ verify: null, revoke: [bin('fail')] });
    await failingRevoke.grant(target);
    await caught(failingRevoke.revoke(target));
    expect(await failingRevoke.verify(target)).toBe(true);
  });

  it('runs the extend command with the new expiry', async () => {
    const commands = provider({ extend: [bin('access'), 'extend', '{login}', '{grant}', '--until={expiresAt}'] });
    await commands.grant(target);
    await commands.extend({ ...target, expiresAt: new Date('2026-11-21T14:00:00.000Z') });
    expect(recordedArgv('extend')).toEqual(['extend', 'alice', 'edit', '--until=2026-11-21T14:00:00.000Z']);
    expect(recordedEnv('extend')).toMatchObject({ BREAKGLASS_ACTION: 'extend', BREAKGLASS_EXPIRES_AT: '2026-11-21T14:00:00.000Z' });
    // The fixture's extend fails when nothing is granted, like a target that cannot extend what is not there.
    await commands.revoke(target);
    expect((await caught(commands.extend(target))).message).toBe('extend command exited with code 1');
  });

  it('changes nothing on extend when no extend command is configured', async () => {
    await provider({ extend: null }).extend(target);
    expect(existsSync(path.join(state, 'extend.argv'))).toBe(false);
  });

  it('has nothing to close', async () => {
    await provider().close();
  });
});

describe('CommandProvider failures', () => {
  it('reports a non-zero exit with the last stderr line, config env values masked', async () => {
    const error = await caught(provider({ grant: [bin('fail')] }).grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('grant command exited with code 3: error: forbidden for token ***: user cannot [31m create rolebindings');
    expect(error.message).not.toContain(API_TOKEN);
  });

  it('clips a long stderr line and masks a multi-line secret line by line', async () => {
    const long = await caught(provider({ revoke: [bin('fail'), 'long'] }).revoke(target));
    expect(long.message).toBe(`revoke command exited with code 3: ${'x'.repeat(200)}…`);

    const key = '-----BEGIN KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END KEY-----';
    const masked = await caught(provider({ grant: [bin('fail'), 'key'], env: { SIGNING_KEY: key, API_TOKEN } }).grant(target));
    expect(masked.message).toBe('grant command exited with code 3: ***');
  });

  it('stops a command at the timeout and says so', async () => {
    const started = Date.now();
    const error = await caught(provider({ grant: [bin('slow')], timeoutMs: 500 }).grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('grant command timed out after 500ms and was stopped');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(isRunning(Number(readFileSync(path.join(state, 'pid'), 'utf8')))).toBe(false);
  });

  it('kills a command that ignores SIGTERM after the grace period', async () => {
    const started = Date.now();
    const error = await caught(provider({ revoke: [bin('stubborn')], timeoutMs: 300, killGraceMs: 300 }).revoke(target));
    const elapsed = Date.now() - started;
    expect(error.message).toBe('revoke command timed out after 300ms and was stopped');
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(3_000);
    expect(isRunning(Number(readFileSync(path.join(state, 'pid'), 'utf8')))).toBe(false);
  });

  it('does not wait for a background process the command left holding its output', async () => {
    const started = Date.now();
    await provider({ grant: [bin('background-child')] }).grant(target);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops a command that prints too much', async () => {
    const error = await caught(provider({ grant: [bin('chatty')] }).grant(target));
    expect(error.message).toBe('grant command printed more than 1 MiB of output and was stopped');
  });

  it('says when the executable is missing or not executable', async () => {
    const missing = await caught(provider({ grant: ['/nonexistent/breakglass-grant', '{login}'] }).grant(target));
    expect(missing).toBeInstanceOf(ProviderError);
    expect(missing.message).toBe('grant command "/nonexistent/breakglass-grant" was not found (check the path, PATH and, for a script, its #! line)');
    const notOnPath = await caught(provider({ revoke: ['breakglass-no-such-tool'] }).revoke(target));
    expect(notOnPath.message).toMatch(/^revoke command "breakglass-no-such-tool" was not found/);
    const notExecutable = await caught(provider({ verify: [bin('not-executable')] }).verify(target));
    expect(notExecutable.message).toBe(`verify command "${bin('not-executable')}" is not executable (permission denied)`);
  });

  it('refuses a value that no process can receive (a NUL character)', async () => {
    const error = await caught(provider().grant({ ...target, reason: 'a\0b' }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toMatch(/^grant command ".*" could not be started: an argument or environment value contains a NUL character$/);
  });
});

describe('CommandProvider options', () => {
  it('refuses missing commands and a non-positive timeout', () => {
    expect(() => provider({ grant: [] })).toThrow('command provider needs grant and revoke commands');
    expect(() => provider({ timeoutMs: 0 })).toThrow('command provider needs a positive timeoutMs');
  });

  it('is a login-shared provider of type command', () => {
    const commands = provider();
    expect(commands.type).toBe('command');
    expect(commands.sharing).toBe('login');
  });
});
