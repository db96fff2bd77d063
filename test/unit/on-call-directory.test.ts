import pino from 'pino';
import { parsePolicy } from '../../src/policy/load-policy';
import { OnCallDirectory } from '../../src/services/on-call';
import { PagerDutyClient } from '../../src/services/pagerduty';
import { checkPagerDutySchedules, PagerDutyScheduleError } from '../../src/services/pagerduty-check';
import { FakePagerDuty } from '../support/fake-pagerduty';

/** Who is on call, looked up in a fake PagerDuty over real HTTP; the Slack side is a directory of e-mail addresses. */
const TOKEN = 'pd-unit-token';
const pagerDuty = new FakePagerDuty({ token: TOKEN });
const logger = pino({ level: 'silent' });
const slackByEmail = new Map([
  ['anna@example.com', 'U0ANNA'],
  ['ben@example.com', 'U0BEN'],
]);
const surface = { lookupUserByEmail: async (email: string) => slackByEmail.get(email) ?? null };

const policy = parsePolicy(
  `
schedules:
  primary: { rotation: [U0ANNA, U0BEN], every: 1d, start: "2026-01-05T00:00:00Z" }
resources:
  - id: db
    provider: { type: postgres, url: "postgresql://admin@db/x" }
    approvers: ["pagerduty:PPRIMARY", "pagerduty:PSECOND", "schedule:primary"]
    roles: [ { id: read } ]
`,
  'p.yaml',
  { PAGERDUTY_TOKEN: TOKEN },
);

function directory(options: { cacheMs?: { found: number; unreachable: number }; token?: string; now?: () => Date } = {}) {
  return new OnCallDirectory({
    policy,
    pagerDuty: new PagerDutyClient({ token: options.token ?? TOKEN, apiUrl: `${pagerDuty.url}/`, timeoutMs: 1_000 }),
    surface,
    logger,
    now: options.now,
    cacheMs: options.cacheMs,
  });
}

beforeAll(() => pagerDuty.start());
afterAll(() => pagerDuty.stop());
beforeEach(() => {
  pagerDuty.recover();
  pagerDuty.calls.length = 0;
  pagerDuty.setOnCall('PPRIMARY', ['Anna@Example.com', 'ben@example.com', 'nobody-in-slack@example.com']);
  pagerDuty.setOnCall('PSECOND', []);
});

describe('OnCallDirectory', () => {
  it('finds the people on call in Slack by e-mail, once each, and nobody for an empty schedule', async () => {
    const answers = await directory().all(['pagerduty:PPRIMARY', 'pagerduty:PSECOND']);
    expect(answers).toEqual([
      { principal: 'pagerduty:PPRIMARY', userIds: ['U0ANNA', 'U0BEN'] },
      { principal: 'pagerduty:PSECOND', userIds: [] },
    ]);
    const [call] = pagerDuty.callsTo('/oncalls');
    expect(call.query.get('earliest')).toBe('true');
    expect(call.path).toBe('/oncalls'); // the trailing slash of the base URL is not doubled
  });

  it('reuses an answer within the cache time and asks again after it', async () => {
    let cacheMs = { found: 60_000, unreachable: 10_000 };
    const cached = directory({ cacheMs });
    await cached.now('pagerduty:PPRIMARY');
    await Promise.all([cached.now('pagerduty:PPRIMARY'), cached.now('pagerduty:PPRIMARY')]);
    expect(pagerDuty.callsTo('/oncalls')).toHaveLength(1);

    cacheMs = { found: 0, unreachable: 0 };
    const fresh = directory({ cacheMs });
    await fresh.now('pagerduty:PPRIMARY');
    pagerDuty.setOnCall('PPRIMARY', ['ben@example.com']);
    expect(await fresh.now('pagerduty:PPRIMARY')).toEqual({ principal: 'pagerduty:PPRIMARY', userIds: ['U0BEN'] });
    expect(pagerDuty.callsTo('/oncalls')).toHaveLength(3);
  });

  it('asks PagerDuty once for lookups made at the same time', async () => {
    const shared = directory();
    await Promise.all([shared.now('pagerduty:PPRIMARY'), shared.now('pagerduty:PPRIMARY'), shared.now('pagerduty:PPRIMARY')]);
    expect(pagerDuty.callsTo('/oncalls')).toHaveLength(1);
  });

  it('answers unreachable when PagerDuty is down, answers errors, or refuses the token, and remembers it briefly', async () => {
    pagerDuty.down();
    const down = directory();
    expect(await down.now('pagerduty:PPRIMARY')).toEqual({ principal: 'pagerduty:PPRIMARY', unreachable: true });
    pagerDuty.recover();
    // Within ON_CALL_FAILURE_CACHE_MS the failure stands: no call per click while PagerDuty is away.
    expect(await down.now('pagerduty:PPRIMARY')).toEqual({ principal: 'pagerduty:PPRIMARY', unreachable: true });
    expect(pagerDuty.callsTo('/oncalls')).toHaveLength(1);

    pagerDuty.fail(429);
    expect(await directory().now('pagerduty:PPRIMARY')).toEqual({ principal: 'pagerduty:PPRIMARY', unreachable: true });
    pagerDuty.recover();
    expect(await directory({ token: 'wrong' }).now('pagerduty:PPRIMARY')).toEqual({ principal: 'pagerduty:PPRIMARY', unreachable: true });
    expect(pagerDuty.calls.at(-1)?.status).toBe(401);
  });

  it('reads rotations at the time it is given, without calling anyone', async () => {
    let now = new Date('2026-01-05T12:00:00Z');
    const rotations = directory({ now: () => now });
    expect(await rotations.now('schedule:primary')).toEqual({ principal: 'schedule:primary', userIds: ['U0ANNA'] });
    now = new Date('2026-01-06T00:00:00Z');
    expect(await rotations.now('schedule:primary')).toEqual({ principal: 'schedule:primary', userIds: ['U0BEN'] });
    now = new Date('2026-01-04T23:00:00Z');
    expect(await rotations.now('schedule:primary')).toEqual({ principal: 'schedule:primary', userIds: [] });
    expect(pagerDuty.calls).toHaveLength(0);
  });
});

describe('checkPagerDutySchedules (start-up)', () => {
  const client = (token = TOKEN) => new PagerDutyClient({ token, apiUrl: pagerDuty.url, timeoutMs: 1_000 });

  it('passes when PagerDuty knows every schedule', async () => {
    await expect(checkPagerDutySchedules({ policy, pagerDuty: client(), logger })).resolves.toBeUndefined();
    expect(pagerDuty.calls.map((call) => call.path).sort()).toEqual(['/schedules/PPRIMARY', '/schedules/PSECOND']);
  });

  it('refuses an unknown schedule and a refused token, each with a pointed message', async () => {
    const missing = new FakePagerDuty({ token: TOKEN });
    await missing.start();
    try {
      missing.setOnCall('PPRIMARY', []);
      const refusal = await checkPagerDutySchedules({ policy, pagerDuty: new PagerDutyClient({ token: TOKEN, apiUrl: missing.url }), logger }).catch((err: unknown) => err);
      expect(refusal).toBeInstanceOf(PagerDutyScheduleError);
      expect((refusal as Error).message).toBe(
        `p.yaml: "pagerduty:PSECOND" (approvers of db/read): PagerDuty has no schedule PSECOND (GET /schedules/PSECOND answered 404); check the id at the end of the schedule's URL and that PAGERDUTY_TOKEN's account can see it`,
      );
    } finally {
      await missing.stop();
    }
    await expect(checkPagerDutySchedules({ policy, pagerDuty: client('wrong'), logger })).rejects.toThrow('PagerDuty refused PAGERDUTY_TOKEN (401/403)');
  });

  it('only warns when PagerDuty cannot be reached: the bot must start during a PagerDuty outage', async () => {
    pagerDuty.down();
    const lines: string[] = [];
    const warnings = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    await expect(checkPagerDutySchedules({ policy, pagerDuty: client(), logger: warnings })).resolves.toBeUndefined();
    expect(lines.join('\n')).toContain('PagerDuty could not be reached to check an on-call schedule at start-up');
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('makes no call for a policy without pagerduty: approvers', async () => {
    const plain = parsePolicy('resources: [ { id: db, provider: { type: postgres, url: "postgresql://a@b/c" }, approvers: [U0A], roles: [ { id: read } ] } ]', 'p.yaml', {});
    await checkPagerDutySchedules({ policy: plain, pagerDuty: null, logger });
    expect(pagerDuty.calls).toHaveLength(0);
  });
});
