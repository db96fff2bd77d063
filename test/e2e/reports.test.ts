import { BotHarness, truncateAll } from '../support/bot-harness';
import { events, refs } from '../support/report-history';
import { waitFor } from '../support/wait';
import { addEvent, createRequest, seal } from '../audit/audit-fixtures';

/**
 * Review reports over signed HTTP: `/breakglass report 7d` for an admin (and a refusal for anyone else), and the
 * scheduled digest posted exactly once per period, with two bot processes, a restart, and a catch-up after
 * downtime. Time is the bots' injected clock; the audit events are the week of report-history.ts (Nov 2–9, 2026).
 */
const ADMIN = 'U0ADMIN';
const STRANGER = 'U0STRANGER';
/** Named as an emergency reviewer of payments-db write, and nothing else. */
const REVIEWER = 'U0REVIEWER';
const SECURITY = 'C0SECURITY';
const CHECK_EVERY_MS = 50;

const POLICY = `
admins: [${ADMIN}]
alerts: { securityChannel: ${SECURITY} }
reports: { every: 7d, at: "mon 09:00", timezone: Europe/Berlin }
resources:
  - id: payments-db
    provider: { type: webhook, url: "http://127.0.0.1:9/unused", secret: unused-secret }
    approvers: [U0APPROVER1]
    roles:
      - { id: read }
      - { id: write, emergency: { allowed: true, reviewers: [${REVIEWER}] } }
`;

/** Monday 2026-11-09 09:00:05 in Berlin (CET): the weekly digest is due since five seconds. */
let now = new Date('2026-11-09T08:00:05Z');
const clock = () => now;
/** Every bot process started here, also the stopped ones: a digest may have gone out through any of them. */
const bots: BotHarness[] = [];
let harness: BotHarness;

function startBot(queueName?: string): Promise<BotHarness> {
  const bot = new BotHarness(POLICY, { queueName, clock, reportCheckEveryMs: CHECK_EVERY_MS });
  bots.push(bot);
  return bot.start();
}

/** The digests posted in the security channel, through any process, oldest period first. */
function digests() {
  return bots
    .flatMap((bot) => bot.slack.callsOf('chat.postMessage'))
    .filter((call) => call.args.channel === SECURITY && String(call.args.text).startsWith('Access review digest'))
    .sort((a, b) => String(a.args.text).localeCompare(String(b.args.text)));
}

beforeAll(async () => {
  await truncateAll();
  const first = new BotHarness(POLICY, { clock, reportCheckEveryMs: CHECK_EVERY_MS });
  // The history is in the database before any bot starts: requests as they ended, their events as the bot wrote them.
  for (const ref of refs.values()) {
    await createRequest(first.db, { id: ref.requestId, status: 'EXPIRED', requesterId: ref.requesterId, resourceId: ref.resourceId, roleId: ref.roleId, messageTs: ref.messageTs });
  }
  for (const event of events) await addEvent(first.db, { requestId: event.requestId, actor: event.actor, action: event.action, details: event.details, createdAt: event.at });
  // Sealed before any bot starts: a report reads sealed events only, and a bot's sealer would get there only a few
  // hundred milliseconds after its start, after the first slash command below may have been answered.
  await seal(first.db);
  bots.push(first);
  // Two processes start at the same moment, both finding the digest due.
  [harness] = await Promise.all([first.start(), startBot(first.queueName)]);
});

afterAll(async () => {
  for (const bot of bots.reverse()) await bot.stop().catch(() => undefined);
});

/** Sends `/breakglass <text>` and returns the ephemeral answer. */
async function answerTo(userId: string, text: string) {
  const answers = harness.slack.callsOf('response_url').length;
  const response = await harness.sender.slashCommand({ userId, channelId: 'C0INCIDENT', text });
  expect(response.status).toBe(200);
  const call = await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], 'an answer on the response_url');
  expect(call.args.response_type).toBe('ephemeral');
  return call.args as { text: string; blocks?: any[] };
}

describe('/breakglass report', () => {
  test('an admin gets the report of the last 7 days, each item linked to its thread', async () => {
    const answer = await answerTo(ADMIN, 'report 7d');
    const text = JSON.stringify(answer.blocks);
    expect(answer.text).toMatch(/^Access report, last 7 days: 2026-11-02 08:00 UTC – 2026-11-09 08:00 UTC: 6 grants, 4 emergency, 1 denied, 1 timed out, 2 failed revocations/);
    expect(text).toContain('<https://test.slack.com/archives/C0INCIDENT/p1700000000000005|BG-5>');
    expect(text).toContain('*flagged* by <@U0REVIEWER>');
    expect(text).toContain('*review overdue*');
    expect(text).toContain('*still failing*');
  });

  test('an emergency reviewer (not an admin) gets it too', async () => {
    const answer = await answerTo(REVIEWER, 'report 30d');
    expect(answer.text).toMatch(/^Access report, last 30 days: /);
    expect(JSON.stringify(answer.blocks)).toContain('*flagged* by <@U0REVIEWER>');
  });

  test('anyone else is refused, and learns who may', async () => {
    const answer = await answerTo(STRANGER, 'report 30d');
    expect(answer.text).toBe(':warning: Only Breakglass admins and emergency reviewers can see access reports. Ask an admin if you need one.');
    expect(answer.blocks ?? []).toEqual([]);
  });

  test('a period other than 7d or 30d gets the usage', async () => {
    const response = await harness.sender.slashCommand({ userId: ADMIN, channelId: 'C0INCIDENT', text: 'report 1y' });
    expect(response.status).toBe(200);
    expect(JSON.stringify(response.body)).toContain('`report` takes the period to cover');
  });
});

describe('the scheduled digest', () => {
  test('two processes that find it due post it once', async () => {
    await waitFor(() => digests().length >= 1, 'the weekly digest');
    const [digest] = digests();
    expect(digest.args.text).toMatch(/^Access review digest: 2026-11-02 08:00 UTC – 2026-11-09 08:00 UTC/);
    expect(JSON.stringify(digest.args.blocks)).toContain('|BG-4>');
    await waitFor(async () => (await harness.db.reportRun.findFirst())?.messageTs != null, 'the digest recorded as posted');
    expect(await harness.db.reportRun.findMany({ select: { periodStart: true, periodEnd: true, channelId: true } })).toEqual([
      { periodStart: new Date('2026-11-02T08:00:00Z'), periodEnd: new Date('2026-11-09T08:00:00Z'), channelId: SECURITY },
    ]);
  });

  test('a restarted process does not post it again; the next period is posted once', async () => {
    const second = bots[1];
    await second.bot.stop();
    const restarted = await startBot(harness.queueName); // its start looks whether a digest is due, and finds none
    expect(await harness.db.reportRun.count()).toBe(1);
    expect(digests()).toHaveLength(1);
    now = new Date('2026-11-16T08:00:01Z');
    await waitFor(() => digests().length >= 2, 'the next weekly digest');
    // Both running processes look several more times before the check below.
    const looks = Date.now() + 10 * CHECK_EVERY_MS;
    await waitFor(() => Date.now() > looks, 'ten more looks by each process');
    expect(digests()).toHaveLength(2);
    expect(digests()[1].args.text).toMatch(/^Access review digest: 2026-11-09 08:00 UTC – 2026-11-16 08:00 UTC/);
    await restarted.bot.stop();
  });

  test('after three weeks without a bot, one catch-up digest covers them all', async () => {
    await harness.bot.stop();
    now = new Date('2026-12-07T10:30:00Z');
    await startBot(harness.queueName);
    await waitFor(() => digests().length >= 3, 'the catch-up digest');
    const looks = Date.now() + 10 * CHECK_EVERY_MS;
    await waitFor(() => Date.now() > looks, 'ten more looks');
    expect(digests()).toHaveLength(3);
    expect(digests()[2].args.text).toMatch(/^Access review digest: 2026-11-16 08:00 UTC – 2026-12-07 08:00 UTC/);
    expect((await harness.db.reportRun.findMany({ orderBy: { periodEnd: 'asc' } })).map((run) => run.periodEnd.toISOString())).toEqual([
      '2026-11-09T08:00:00.000Z',
      '2026-11-16T08:00:00.000Z',
      '2026-12-07T08:00:00.000Z',
    ]);
  });
});
