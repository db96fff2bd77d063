import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import pino from 'pino';
import { createBreakglass, type Breakglass } from '../../src/app';
import type { AppConfig } from '../../src/config/env';
import { createPrisma } from '../../src/db/prisma';
import { parsePolicy } from '../../src/policy/load-policy';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { TEST_BOT_TOKEN, truncateAll } from '../support/bot-harness';
import { FakeSlackApi } from '../support/fake-slack-api';
import { FakeSocketModeServer } from '../support/fake-socket-mode-server';
import { waitFor } from '../support/wait';
import { buttonValue } from './e2e-helpers';
import { CHANNEL, e2ePolicy, REQUESTER } from './policy-fixture';

/** With SLACK_APP_TOKEN the bot takes Slack's events over Socket Mode: it asks the (fake) Web API for a WebSocket URL
 * with the app token, connects, acks each envelope, and answers through the Web API as in HTTP mode. */
const TEST_APP_TOKEN = 'xapp-test-socket-mode';
const slack = new FakeSlackApi({ expectedToken: [TEST_BOT_TOKEN, TEST_APP_TOKEN] });
const socketServer = new FakeSocketModeServer();
const db = createPrisma(process.env.TEST_DATABASE_URL!);
const queueName = `bg-socket-${randomBytes(4).toString('hex')}`;
let bot: Breakglass | undefined;

beforeAll(async () => {
  await Promise.all([slack.start(), socketServer.start()]);
  slack.respondWith('apps.connections.open', () => ({ ok: true, url: socketServer.url }));
  await truncateAll();
});

afterAll(async () => {
  await bot?.stop();
  const queue = new Queue(queueName, { connection: { url: process.env.TEST_REDIS_URL } });
  await queue.obliterate({ force: true });
  await queue.close();
  await Promise.all([slack.stop(), socketServer.stop(), db.$disconnect()]);
});

it('connects with the app token, acks a slash command envelope and posts the request; ops endpoints stay on PORT', async () => {
  const config: AppConfig = {
    slackBotToken: TEST_BOT_TOKEN,
    slackSigningSecret: null,
    slackAppToken: TEST_APP_TOKEN,
    role: 'all',
    slackApiUrl: slack.url,
    databaseUrl: process.env.TEST_DATABASE_URL!,
    redisUrl: process.env.TEST_REDIS_URL!,
    port: 0,
    policyPath: 'test-policy.yaml',
    logLevel: 'silent',
    queueName,
    reconcileEveryMs: 60_000,
    jobLockMs: 30_000,
    expiryConcurrency: 5,
    slackFollowUpConcurrency: 4,
  };
  const policyYaml = e2ePolicy({
    login: 'alice',
    readRole: 'bg_read',
    writeRole: 'bg_write',
    postgresUrl: process.env.TEST_TARGET_DATABASE_URL!,
    webhookUrl: 'http://127.0.0.1:9/unused',
    webhookSecret: 'unused-secret',
  });
  bot = createBreakglass({
    config,
    policy: parsePolicy(policyYaml, 'test-policy.yaml', {}),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    slackPostIntervalMs: 20,
  });
  const port = await bot.start();

  const open = slack.lastCall('apps.connections.open')!;
  expect(open.token).toBe(TEST_APP_TOKEN);
  expect(socketServer.connected).toBe(true);

  socketServer.send({
    envelope_id: 'env-slash-1',
    type: 'slash_commands',
    accepts_response_payload: true,
    payload: {
      token: 'legacy-verification-token',
      team_id: 'T0TEAM',
      team_domain: 'test',
      channel_id: CHANNEL,
      channel_name: 'incident',
      user_id: REQUESTER,
      user_name: 'requester',
      command: '/breakglass',
      text: 'payments-db read 30m INC-90 over socket mode',
      api_app_id: 'A0TESTAPP',
      response_url: slack.responseUrl(),
      trigger_id: 'trigger-1',
    },
  });

  const ack = await waitFor(() => socketServer.received.find((message) => message.envelope_id === 'env-slash-1'), 'the ack of the envelope');
  expect(ack).toMatchObject({ envelope_id: 'env-slash-1' });
  const message = await slack.waitForCall('chat.postMessage', (args) => buttonValue(args.blocks ?? [], ActionIds.approve) !== undefined);
  expect(message.token).toBe(TEST_BOT_TOKEN);
  const stored = await db.accessRequest.findUniqueOrThrow({ where: { id: buttonValue(message.args.blocks, ActionIds.approve)! } });
  expect(stored).toMatchObject({ requesterId: REQUESTER, resourceId: 'payments-db', roleId: 'read', status: 'PENDING', channelId: CHANNEL });

  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  // No HTTP route for Slack in Socket Mode: nothing unsigned can come in that way.
  expect((await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body: 'x' })).status).toBe(404);
});
