import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { createPrisma } from '../../src/db/prisma';
import { truncateAll, TEST_BOT_TOKEN } from '../support/bot-harness';
import { BotProcess } from '../support/bot-process';
import { FakeSlackApi } from '../support/fake-slack-api';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { buttonValue } from './e2e-helpers';
import { APPROVER1, APPROVER2, CHANNEL, e2ePolicy, REQUESTER } from './policy-fixture';

/** Real bot processes (src/main.ts, configured by environment as in production): one killed with SIGKILL in the
 * middle of a revocation, and two running side by side on the same database and queue. */
const target = new TargetDatabase();
const webhook = new WebhookReceiver('bot-processes-secret');
const slack = new FakeSlackApi({ expectedToken: TEST_BOT_TOKEN });
const db = createPrisma(process.env.TEST_DATABASE_URL!);
const queueName = `bg-proc-${randomBytes(4).toString('hex')}`;
const processes: BotProcess[] = [];
let policyYaml: string;
let login: string;

beforeAll(async () => {
  await Promise.all([webhook.start(), slack.start(), target.connect()]);
  login = await target.createRole('alice', { login: true });
  policyYaml = e2ePolicy({
    login,
    readRole: await target.createRole('read', { login: false }),
    writeRole: await target.createRole('write', { login: false }),
    postgresUrl: target.url,
    webhookUrl: webhook.url,
    webhookSecret: webhook.secret,
  });
  await truncateAll();
});

afterAll(async () => {
  await Promise.all(processes.map((bot) => bot.kill()));
  const queue = new Queue(queueName, { connection: { url: process.env.TEST_REDIS_URL } });
  await queue.obliterate({ force: true });
  await queue.close();
  await Promise.all([webhook.stop(), slack.stop(), db.$disconnect()]);
  await target.dropAll();
});

async function startBot(): Promise<BotProcess> {
  // A short job lock, so the job of a killed process is taken over within seconds rather than 30.
  const bot = new BotProcess({ policyYaml, slackApiUrl: slack.url, queueName, responseUrl: () => slack.responseUrl(), env: { JOB_LOCK: '2s', RECONCILE_EVERY: '1s' } });
  processes.push(bot);
  return bot.start();
}

async function requestThrough(bot: BotProcess, text: string) {
  const posted = slack.callsOf('chat.postMessage').length;
  await bot.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text });
  const message = await waitFor(
    () =>
      slack
        .callsOf('chat.postMessage')
        .slice(posted)
        .find((call) => buttonValue(call.args.blocks ?? [], ActionIds.approve)),
    'the approval message',
  );
  const id = buttonValue(message.args.blocks, ActionIds.approve)!;
  return waitFor(async () => {
    const request = await db.accessRequest.findUniqueOrThrow({ where: { id } });
    return request.messageTs ? request : null;
  }, 'the stored message ts');
}

const statusOf = async (id: string) => (await db.accessRequest.findUniqueOrThrow({ where: { id } })).status;
const actionsOf = async (id: string) => (await db.auditEvent.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } })).map((event) => event.action);
const click = (bot: BotProcess, userId: string, request: { id: string; messageTs: string | null }) =>
  bot.sender.blockAction({ userId, channelId: CHANNEL, actionId: ActionIds.approve, value: request.id, messageTs: request.messageTs ?? undefined });

describe('two bot processes at once', () => {
  it('grant once and revoke once, whichever process each click and each job lands on', async () => {
    const [first, second] = await Promise.all([startBot(), startBot()]);
    const request = await requestThrough(first, 'payments-db write 4s INC-30 two processes');

    // Both approvers click at the same instant, each through a different process, and APPROVER1's click is
    // delivered twice (a Slack retry landing on the other process).
    await Promise.all([click(first, APPROVER1, request), click(second, APPROVER2, request), click(second, APPROVER1, request)]);
    await waitFor(async () => (await statusOf(request.id)) === 'ACTIVE', 'the request to become active');
    expect(await target.hasRole(login, target.name('write'))).toBe(true);

    await waitFor(async () => (await statusOf(request.id)) === 'EXPIRED', 'the expiry', 20_000);
    expect(await target.hasRole(login, target.name('write'))).toBe(false);
    const actions = await actionsOf(request.id);
    expect(actions).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED']);
    await waitFor(
      () => slack.callsOf('chat.postMessage').some((call) => !call.args.thread_ts && String(call.args.text).startsWith(`Audit summary BG-${request.number}:`)),
      'the audit summary',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(slack.callsOf('chat.postMessage').filter((call) => !call.args.thread_ts && String(call.args.text).startsWith(`Audit summary BG-${request.number}:`))).toHaveLength(1);
    await Promise.all([first.stop(), second.stop()]);
  });
});

describe('a bot process killed mid-revoke', () => {
  it('has its revocation finished by the next process, and the access is gone', async () => {
    const bot = await startBot();
    const request = await requestThrough(bot, 'deploy-console operator 2s - the bot dies while revoking');
    await click(bot, APPROVER1, request);
    await waitFor(async () => (await statusOf(request.id)) === 'ACTIVE', 'the request to become active');
    expect(webhook.granted.size).toBe(1);

    // The target takes its time with the revoke; the process dies while waiting for it.
    const release = webhook.holdRevokes();
    await waitFor(() => webhook.received.some((hook) => hook.action === 'revoke' && hook.payload.requestId === request.id), 'the revoke call', 10_000);
    await bot.kill();
    release();
    // The sweep's transaction died with the process: nothing was recorded, so the request is still ACTIVE and due.
    expect(await statusOf(request.id)).toBe('ACTIVE');

    // A new process takes over the abandoned job once its lock lapses, and finishes the revocation.
    await startBot();
    await waitFor(async () => (await statusOf(request.id)) === 'EXPIRED', 'the takeover', 20_000);
    expect(webhook.granted.size).toBe(0);
    // Revoked again by the new process (revoking is idempotent), recorded once.
    expect(webhook.received.filter((hook) => hook.action === 'revoke' && hook.payload.requestId === request.id).length).toBeGreaterThanOrEqual(2);
    const actions = await actionsOf(request.id);
    expect(actions.filter((action) => action === 'EXPIRED')).toHaveLength(1);
    expect(actions.at(-1)).toBe('EXPIRED');
  });
});
