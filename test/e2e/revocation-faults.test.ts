import { Redis } from 'ioredis';
import { expiryJobId } from '../../src/jobs/expiry-queue';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { buttonValue, ephemeralFor, requestAccess, startE2eBot, statusBecomes, textOf } from './e2e-helpers';
import { APPROVER1, CHANNEL, REQUESTER, REQUESTER2 } from './policy-fixture';

/** "No access outlives its expiry, whatever fails": each scenario ends with the access gone from the real target
 * and a complete audit trail. The bot's own PostgreSQL and Redis are taken down through a TCP proxy in front of the
 * real servers (as a crash or restart looks to the bot); Redis is flushed for real. */
const target = new TargetDatabase();
const webhook = new WebhookReceiver('revocation-faults-secret');
let harness: BotHarness | undefined;
let proxy: TcpProxy | undefined;

const SECURITY_CHANNEL = 'C0SECURITY';
/** Short enough for tests; the watchdog and the reconcile schedule both run this often. */
const RECONCILE_EVERY_MS = 500;

beforeAll(async () => {
  await webhook.start();
});

afterEach(async () => {
  webhook.failWith = null;
  proxy?.restore();
  await harness?.stop();
  await proxy?.stop();
  harness = undefined;
  proxy = undefined;
  await target.dropAll();
});

afterAll(async () => {
  await webhook.stop();
});

async function start(options: Parameters<typeof startE2eBot>[2] = {}) {
  const started = await startE2eBot(target, webhook, { ...options, harness: { reconcileEveryMs: RECONCILE_EVERY_MS, ...options.harness } });
  harness = started.harness;
  return started;
}

/** Requests `text` and has APPROVER1 approve it (1-approval roles), returning the active request. */
async function activeRequest(bot: BotHarness, text: string, userId = REQUESTER) {
  const { request } = await requestAccess(bot, text, userId);
  await bot.click(ActionIds.approve, APPROVER1, request);
  return statusBecomes(bot, request.id, 'ACTIVE');
}

const summariesIn = (bot: BotHarness, channel: string, humanId: string) =>
  bot.slack.callsOf('chat.postMessage').filter((call) => call.args.channel === channel && !call.args.thread_ts && call.args.text?.startsWith(`Audit summary ${humanId}:`));

describe('Redis losing its data', () => {
  it('restores the expiry job after a flush between approval and expiry, with no restart', async () => {
    const { harness: bot, login } = await start();
    const request = await activeRequest(bot, 'payments-db read 4s INC-10 redis will be flushed');
    expect(await target.hasRole(login, target.name('read'))).toBe(true);

    const redis = new Redis(process.env.TEST_REDIS_URL!);
    await redis.flushdb();
    await redis.quit();

    const expired = await statusBecomes(bot, request.id, 'EXPIRED', 15_000);
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
    // Revoked within a few reconcile periods of the expiry, not whenever someone notices.
    expect(expired.endedAt!.getTime() - expired.expiresAt!.getTime()).toBeLessThan(5_000);
    expect(await bot.auditActions(request.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED']);
  });
});

describe('Redis down', () => {
  it('revokes at expiry without the queue while Redis is down, and the late job changes nothing', async () => {
    const redis = await TcpProxy.for(process.env.TEST_REDIS_URL!);
    proxy = redis.proxy;
    const { harness: bot, login } = await start({ harness: { redisUrl: redis.url } });
    const request = await activeRequest(bot, 'payments-db read 3s INC-11 redis goes away');

    redis.proxy.cut();
    const expired = await statusBecomes(bot, request.id, 'EXPIRED', 15_000);
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
    expect(expired.endedAt!.getTime() - expired.expiresAt!.getTime()).toBeLessThan(5_000);
    await waitFor(() => summariesIn(bot, CHANNEL, `BG-${request.number}`).length === 1, 'the audit summary, posted without Redis');

    // Redis comes back with the (now late) expiry job still in it: it finds the request ended and does nothing.
    redis.proxy.restore();
    // The worker's connection backs off while Redis is away, so it may take a few seconds to pick the job up.
    await waitFor(async () => (await bot.bot.expiryQueue.queue.getJob(expiryJobId(request.id))) === undefined, 'the late job to run and complete', 40_000);
    const actions = await bot.auditActions(request.id);
    expect(actions.filter((action) => action === 'EXPIRED')).toHaveLength(1);
    expect(actions).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED']);
    expect(summariesIn(bot, CHANNEL, `BG-${request.number}`)).toHaveLength(1);
  }, 60_000);
});

describe('the bot database restarting', () => {
  it('loses no approval and no revocation while PostgreSQL drops every connection and comes back', async () => {
    const database = await TcpProxy.for(process.env.TEST_DATABASE_URL!);
    proxy = database.proxy;
    const { harness: bot, login } = await start({ harness: { databaseUrl: database.url } });
    const { request } = await requestAccess(bot, 'payments-db read 4s INC-12 database restarts');

    // An approval arriving while the database is down is answered with an error and records nothing.
    database.proxy.cut();
    const ephemerals = bot.slack.callsOf('chat.postEphemeral').length;
    await bot.click(ActionIds.approve, APPROVER1, request);
    expect(await ephemeralFor(bot, APPROVER1, ephemerals)).toMatch(/unexpected error/);
    database.proxy.restore();
    expect(await bot.request(request.id)).toMatchObject({ status: 'PENDING', approvalCount: 0 });

    // Clicked again once it is back: granted, and revoked at expiry even though the database drops out again then.
    await bot.click(ActionIds.approve, APPROVER1, request);
    const active = await statusBecomes(bot, request.id, 'ACTIVE');
    expect(await target.hasRole(login, target.name('read'))).toBe(true);
    await waitFor(() => Date.now() >= active.expiresAt!.getTime() - 200, 'the expiry to come near', 10_000);
    database.proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    database.proxy.restore();

    await statusBecomes(bot, request.id, 'EXPIRED', 20_000);
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
    const actions = await bot.auditActions(request.id);
    expect(actions.filter((action) => action === 'APPROVAL_RECORDED')).toHaveLength(1);
    // However the outage fell (a sweep whose transaction was cut, or a failure recorded and retried): ended once.
    expect(actions.filter((action) => action === 'EXPIRED')).toHaveLength(1);
    expect(actions.at(-1)).toBe('EXPIRED');
  });
});

describe('a target failing its revokes', () => {
  it('alerts the incident and security channels, retries on Retry now, and marks the alert resolved', async () => {
    const { harness: bot } = await start({ policy: { extra: `alerts: { securityChannel: ${SECURITY_CHANNEL}, afterFailedRevokes: 2 }` } });
    const request = await activeRequest(bot, 'deploy-console operator 2s - the target will refuse');
    webhook.failWith = 503;

    const alerts = await waitFor(
      () => {
        const posted = bot.slack.callsOf('chat.postMessage').filter((call) => /^Revocation failing: BG-/.test(call.args.text ?? ''));
        return posted.length === 2 ? posted : null;
      },
      'alerts in both channels',
      20_000,
    );
    expect(alerts.map((call) => call.args.channel).sort()).toEqual([CHANNEL, SECURITY_CHANNEL]);
    for (const alert of alerts) {
      expect(textOf(alert.args)).toContain('webhook answered 503');
      expect(buttonValue(alert.args.blocks, ActionIds.retryRevoke)).toBe(request.id);
    }
    const failing = await bot.request(request.id);
    expect(failing).toMatchObject({ status: 'REVOKING' });
    expect(failing.revokeFailingSince).not.toBeNull();
    expect(await bot.bot.service.countFailingRevocations()).toBe(1);
    expect(webhook.granted.size).toBe(1);

    // The target is fixed; Retry now revokes at once instead of waiting out the backoff.
    webhook.failWith = null;
    const alertTs = (await bot.db.revokeAlert.findMany({ where: { requestId: request.id } })).map((alert) => alert.messageTs);
    await bot.sender.blockAction({ userId: REQUESTER, channelId: SECURITY_CHANNEL, actionId: ActionIds.retryRevoke, value: request.id });
    await statusBecomes(bot, request.id, 'EXPIRED', 5_000);
    expect(webhook.granted.size).toBe(0);
    for (const ts of alertTs) {
      await bot.slack.waitForCall('chat.update', (args) => args.ts === ts && /^Resolved: BG-\d+ was revoked after \d+ failed attempts/.test(args.text));
    }
    expect(await bot.db.revokeAlert.count({ where: { requestId: request.id, resolvedAt: null } })).toBe(0);
    expect(await bot.bot.service.countFailingRevocations()).toBe(0);
    const actions = await bot.auditActions(request.id);
    expect(actions.filter((action) => action === 'REVOKE_FAILED').length).toBeGreaterThanOrEqual(2);
    expect(actions.filter((action) => action === 'REVOKE_ALERTED')).toHaveLength(1);
    expect(actions).toContain('RETRY_REQUESTED');
    expect(actions.at(-1)).toBe('EXPIRED');
  });
});

describe('overlapping grants', () => {
  it('keeps the access while another active request of the same login holds it, and revokes with the last one', async () => {
    const { harness: bot, login } = await start();
    // Two Slack accounts mapped to one login: each may hold the role once, and together they overlap on the target.
    const short = await activeRequest(bot, 'payments-db read 4s INC-13 first request');
    const long = await activeRequest(bot, 'payments-db read 10s INC-14 second, overlapping request', REQUESTER2);
    expect(long.requesterLogin).toBe(login);
    expect(long.grantedAt!.getTime()).toBeLessThan(short.expiresAt!.getTime());

    const firstEnded = await statusBecomes(bot, short.id, 'EXPIRED', 10_000);
    expect(await target.hasRole(login, target.name('read'))).toBe(true);
    const expiredEvent = await bot.db.auditEvent.findFirstOrThrow({ where: { requestId: short.id, action: 'EXPIRED' } });
    expect(expiredEvent.details).toMatchObject({ keptOnTargetFor: `BG-${long.number}` });
    expect(firstEnded.grant).toMatchObject({ status: 'REVOKED' });

    await statusBecomes(bot, long.id, 'EXPIRED', 15_000);
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
  });

  it('extends an active grant in place: one grant, a later expiry, the target told', async () => {
    const { harness: bot } = await start();
    const request = await activeRequest(bot, 'deploy-console operator 3s - needs a little longer');
    const newExpiry = new Date(request.expiresAt!.getTime() + 3_000);

    const beyondMaxDuration = await bot.bot.service.extend(request.id, APPROVER1, new Date(request.grantedAt!.getTime() + 3 * 3_600_000));
    expect(beyondMaxDuration).toMatchObject({ ok: false, code: 'too_long' });
    const result = await bot.bot.service.extend(request.id, APPROVER1, newExpiry);
    expect(result.ok).toBe(true);
    const hooksOf = (action: string) => webhook.received.filter((hook) => hook.action === action && hook.payload.requestId === request.id);
    // The target hears of the new expiry from the outbox, just after the change is committed.
    await waitFor(() => hooksOf('extend').at(-1), 'the extend webhook');
    expect(hooksOf('extend').at(-1)?.payload.expiresAt).toBe(newExpiry.toISOString());

    // Past the old expiry it is still active (the job woke early and went back to sleep) …
    await new Promise((resolve) => setTimeout(resolve, request.expiresAt!.getTime() - Date.now() + 1_000));
    expect((await bot.request(request.id)).status).toBe('ACTIVE');
    expect(webhook.granted.size).toBe(1);
    // … and it ends at the new one, with one grant all along.
    const expired = await statusBecomes(bot, request.id, 'EXPIRED', 10_000);
    expect(expired.endedAt!.getTime()).toBeGreaterThanOrEqual(newExpiry.getTime());
    expect(hooksOf('grant')).toHaveLength(1);
    expect(await bot.auditActions(request.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXTENDED', 'EXPIRED']);
    expect(await bot.bot.service.extend(request.id, APPROVER1, new Date(Date.now() + 60_000))).toMatchObject({ ok: false, code: 'not_active' });
  });
});

describe('stale requests', () => {
  it('closes a request nobody decided within requestTtl, so nobody can approve it later', async () => {
    const { harness: bot } = await start({ policy: { requestTtl: '2s' } });
    const { request } = await requestAccess(bot, 'payments-db read 1h INC-15 nobody answers');

    await statusBecomes(bot, request.id, 'TIMED_OUT', 10_000);
    const update = await bot.slack.waitForCall('chat.update', (args) => args.ts === request.messageTs && /Expired without a decision/.test(textOf(args)));
    expect(buttonValue(update.args.blocks, ActionIds.approve)).toBeUndefined();
    await bot.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && /nobody decided within 2s/.test(args.text));

    const ephemerals = bot.slack.callsOf('chat.postEphemeral').length;
    await bot.click(ActionIds.approve, APPROVER1, request);
    expect(await ephemeralFor(bot, APPROVER1, ephemerals)).toMatch(/expired without a decision/);
    expect(await bot.auditActions(request.id)).toEqual(['REQUESTED', 'TIMED_OUT']);
  });
});
