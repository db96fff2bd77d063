import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_MIGRATIONS_DIR } from '../../src/http/readiness';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { sample } from '../support/prometheus-text';
import { TargetDatabase } from '../support/target-database';
import { TcpProxy } from '../support/tcp-proxy';
import { WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/wait';
import { ephemeralFor, requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, OUTSIDER, REQUESTER } from './policy-fixture';

/** /healthz, /readyz and /metrics on the bot's own HTTP server, against the real PostgreSQL and Redis. */
const target = new TargetDatabase();
const webhook = new WebhookReceiver('ops-endpoints-secret');
let harness: BotHarness | undefined;
let proxy: TcpProxy | undefined;

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
  const started = await startE2eBot(target, webhook, options);
  harness = started.harness;
  return started;
}

async function get(bot: BotHarness, path: string) {
  const response = await fetch(`http://127.0.0.1:${bot.port}${path}`);
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.text() };
}

describe('GET /healthz', () => {
  it('answers 200 while the process runs', async () => {
    const { harness: bot } = await start();
    const health = await get(bot, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
  });
});

describe('GET /readyz', () => {
  it('is 200 with every check ok when PostgreSQL, Redis and the migrations are in place', async () => {
    const { harness: bot } = await start();
    const ready = await get(bot, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', migrations: 'ok' } });
  });

  it('is 503 naming redis when Redis is down, and ready again once it is back', async () => {
    const redis = await TcpProxy.for(process.env.TEST_REDIS_URL!);
    proxy = redis.proxy;
    const { harness: bot } = await start({ harness: { redisUrl: redis.url } });
    expect((await get(bot, '/readyz')).status).toBe(200);

    redis.proxy.cut();
    const down = await get(bot, '/readyz');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body)).toEqual({
      status: 'not ready',
      checks: { postgres: 'ok', redis: 'Redis did not answer within 1 s', migrations: 'ok' },
      failing: ['redis'],
    });
    // Liveness is not readiness: the process itself is fine, so nothing should restart it.
    expect((await get(bot, '/healthz')).status).toBe(200);

    redis.proxy.restore();
    await waitFor(async () => (await get(bot, '/readyz')).status === 200, 'readiness once Redis is back');
  });

  it('is 503 naming the migration the database lacks (code deployed before npm run db:migrate)', async () => {
    // The code's migrations plus one newer that was never applied.
    const migrationsDir = mkdtempSync(path.join(tmpdir(), 'breakglass-migrations-'));
    cpSync(DEFAULT_MIGRATIONS_DIR, migrationsDir, { recursive: true });
    mkdirSync(path.join(migrationsDir, '29991231000000_not_applied_yet'));
    writeFileSync(path.join(migrationsDir, '29991231000000_not_applied_yet', 'migration.sql'), 'SELECT 1;\n');
    const { harness: bot } = await start({ harness: { migrationsDir } });

    const ready = await get(bot, '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'not ready',
      checks: { postgres: 'ok', redis: 'ok', migrations: 'not applied: 29991231000000_not_applied_yet (run npm run db:migrate)' },
      failing: ['migrations'],
    });
  });
});

describe('GET /metrics', () => {
  it('counts a request through approve, grant and expiry, with the times taken from the database', async () => {
    const { harness: bot } = await start();
    const before = await get(bot, '/metrics');
    expect(before.status).toBe(200);
    expect(before.type).toContain('text/plain');
    // Every policy role is there from the start, at 0; and prom-client's process metrics are included.
    expect(sample(before.body, 'breakglass_requests_total', { outcome: 'expired', resource: 'payments-db', role: 'read' })).toBe(0);
    expect(sample(before.body, 'breakglass_active_grants', { resource: 'payments-db', role: 'read' })).toBe(0);
    expect(sample(before.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const { request } = await requestAccess(bot, 'payments-db read 2s INC-70 metrics');
    await bot.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(bot, request.id, 'ACTIVE');
    const during = (await get(bot, '/metrics')).body;
    expect(sample(during, 'breakglass_active_grants', { resource: 'payments-db', role: 'read' })).toBe(1);
    expect(sample(during, 'breakglass_requests_total', { outcome: 'approved', resource: 'payments-db', role: 'read' })).toBe(1);
    expect(sample(during, 'breakglass_requests_total', { outcome: 'granted', resource: 'payments-db', role: 'read' })).toBe(1);

    const ended = await statusBecomes(bot, request.id, 'EXPIRED');
    const after = (await get(bot, '/metrics')).body;
    expect(sample(after, 'breakglass_requests_total', { outcome: 'expired', resource: 'payments-db', role: 'read' })).toBe(1);
    expect(sample(after, 'breakglass_active_grants', { resource: 'payments-db', role: 'read' })).toBe(0);

    const approvedIn = (ended.decidedAt!.getTime() - ended.createdAt.getTime()) / 1000;
    expect(sample(after, 'breakglass_time_to_approve_seconds_count', { resource: 'payments-db', role: 'read' })).toBe(1);
    expect(sample(after, 'breakglass_time_to_approve_seconds_sum', { resource: 'payments-db', role: 'read' })).toBeCloseTo(approvedIn, 3);
    const lag = (ended.endedAt!.getTime() - ended.expiresAt!.getTime()) / 1000;
    expect(sample(after, 'breakglass_revocation_lag_seconds_count', { resource: 'payments-db' })).toBe(1);
    expect(sample(after, 'breakglass_revocation_lag_seconds_sum', { resource: 'payments-db' })).toBeCloseTo(lag, 3);
    expect(sample(after, 'breakglass_revocation_lag_seconds_bucket', { resource: 'payments-db', le: '+Inf' })).toBe(1);
  });

  it('counts withdrawn requests, failed revocations while they fail, and Slack API errors by method and code', async () => {
    const { harness: bot } = await start();

    const { request: withdrawn } = await requestAccess(bot, 'payments-db read 1h INC-71 changed my mind');
    await bot.click(ActionIds.deny, REQUESTER, withdrawn);
    await statusBecomes(bot, withdrawn.id, 'DENIED');

    // Slack refuses the ephemeral telling an outsider their click does not count.
    bot.slack.respondOnce('chat.postEphemeral', () => ({ ok: false, error: 'channel_not_found' }));
    const ephemerals = bot.slack.callsOf('chat.postEphemeral').length;
    await bot.click(ActionIds.approve, OUTSIDER, withdrawn);
    await ephemeralFor(bot, OUTSIDER, ephemerals);

    const { request } = await requestAccess(bot, 'deploy-console operator 2s - target will refuse the revoke');
    await bot.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(bot, request.id, 'ACTIVE');
    webhook.failWith = 503;
    const failing = await waitFor(async () => {
      const text = (await get(bot, '/metrics')).body;
      return sample(text, 'breakglass_revocation_failures_total', { resource: 'deploy-console' })! >= 2 ? text : null;
    }, 'two failed revocation attempts counted');
    // Counted once per attempt the database recorded (and a scrape never runs ahead of it).
    expect((await bot.request(request.id)).revokeAttempts).toBeGreaterThanOrEqual(sample(failing, 'breakglass_revocation_failures_total', { resource: 'deploy-console' })!);
    expect(sample(failing, 'breakglass_revocations_failing')).toBe(1);

    webhook.failWith = null;
    const ended = await statusBecomes(bot, request.id, 'EXPIRED', 20_000);
    const after = (await get(bot, '/metrics')).body;
    expect(sample(after, 'breakglass_revocation_failures_total', { resource: 'deploy-console' })).toBe(ended.revokeAttempts);
    expect(sample(after, 'breakglass_revocations_failing')).toBe(0);
    expect(sample(after, 'breakglass_requests_total', { outcome: 'withdrawn', resource: 'payments-db', role: 'read' })).toBe(1);
    expect(sample(after, 'breakglass_requests_total', { outcome: 'denied', resource: 'payments-db', role: 'read' })).toBe(0);
    expect(sample(after, 'breakglass_requests_total', { outcome: 'expired', resource: 'deploy-console', role: 'operator' })).toBe(1);
    expect(sample(after, 'breakglass_slack_api_errors_total', { method: 'chat.postEphemeral', error: 'channel_not_found' })).toBe(1);
  });
});
