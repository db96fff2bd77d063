import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { createPrisma } from '../../src/db/prisma';
import { truncateAll, TEST_BOT_TOKEN } from '../support/bot-harness';
import { BotProcess } from '../support/bot-process';
import { FakeSlackApi } from '../support/fake-slack-api';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue } from './e2e-helpers';
import { APPROVER1, CHANNEL, e2ePolicy, REQUESTER } from './policy-fixture';

/** `--role=web|worker` as real processes (src/main.ts) on one database and one queue: the web process takes Slack's
 * requests and queues expiries but never runs them; the worker runs them and takes no Slack requests. */
const target = new TargetDatabase();
const slack = new FakeSlackApi({ expectedToken: TEST_BOT_TOKEN });
const db = createPrisma(process.env.TEST_DATABASE_URL!);
const queueName = `bg-roles-${randomBytes(4).toString('hex')}`;
const queue = new Queue(queueName, { connection: { url: process.env.TEST_REDIS_URL } });
const processes: BotProcess[] = [];
let policyYaml: string;
let login: string;

beforeAll(async () => {
  await Promise.all([slack.start(), target.connect()]);
  login = await target.createRole('alice', { login: true });
  policyYaml = e2ePolicy({
    login,
    readRole: await target.createRole('read', { login: false }),
    writeRole: await target.createRole('write', { login: false }),
    postgresUrl: target.url,
    webhookUrl: 'http://127.0.0.1:9/unused',
    webhookSecret: 'unused-secret',
  });
  await truncateAll();
});

afterAll(async () => {
  await Promise.all(processes.map((bot) => bot.kill()));
  await queue.obliterate({ force: true });
  await queue.close();
  await Promise.all([slack.stop(), db.$disconnect()]);
  await target.dropAll();
});

function startBot(options: { env?: Record<string, string>; args?: string[] }): Promise<BotProcess> {
  const bot = new BotProcess({ policyYaml, slackApiUrl: slack.url, queueName, responseUrl: () => slack.responseUrl(), ...options });
  processes.push(bot);
  return bot.start();
}

const get = (bot: BotProcess, path: string) => fetch(`http://127.0.0.1:${bot.port}${path}`);
const statusOf = async (id: string) => (await db.accessRequest.findUniqueOrThrow({ where: { id } })).status;

describe('process roles', () => {
  it('web queues the expiry without running it; a worker started later (with no signing secret) runs it', async () => {
    const web = await startBot({ env: { BREAKGLASS_ROLE: 'web' } });
    expect((await get(web, '/healthz')).status).toBe(200);
    expect((await get(web, '/readyz')).status).toBe(200);

    const posted = slack.callsOf('chat.postMessage').length;
    await web.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: 'payments-db read 2s INC-80 web role' });
    const message = await waitFor(
      () =>
        slack
          .callsOf('chat.postMessage')
          .slice(posted)
          .find((call) => buttonValue(call.args.blocks ?? [], ActionIds.approve)),
      'the approval message',
    );
    const id = buttonValue(message.args.blocks, ActionIds.approve)!;
    const stored = await waitFor(async () => {
      const request = await db.accessRequest.findUniqueOrThrow({ where: { id } });
      return request.messageTs ? request : null;
    }, 'the stored message ts');
    await web.sender.blockAction({ userId: APPROVER1, channelId: CHANNEL, actionId: ActionIds.approve, value: id, messageTs: stored.messageTs! });
    await waitFor(async () => (await statusOf(id)) === 'ACTIVE', 'the grant, done by the web process');
    expect(await target.hasRole(login, target.name('read'))).toBe(true);

    // The expiry job is in the queue, and nothing consumes the queue: the web process runs no BullMQ worker.
    expect(await queue.getJob(`expire-${id}`)).toBeDefined();
    expect(await queue.getWorkersCount()).toBe(0);
    const { expiresAt } = await db.accessRequest.findUniqueOrThrow({ where: { id } });
    await waitFor(() => Date.now() > expiresAt!.getTime() + 1_000, 'the expiry time to pass');
    expect(await statusOf(id)).toBe('ACTIVE');
    expect(await target.hasRole(login, target.name('read'))).toBe(true);

    // The worker needs no signing secret (empty counts as unset) and is chosen on the command line.
    const worker = await startBot({ env: { SLACK_SIGNING_SECRET: '' }, args: ['--role=worker'] });
    await waitFor(async () => (await statusOf(id)) === 'EXPIRED', 'the expiry, run by the worker');
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
    expect(await queue.getWorkersCount()).toBeGreaterThanOrEqual(1);

    // The worker serves the ops endpoints on PORT but no Slack route.
    expect((await get(worker, '/healthz')).status).toBe(200);
    expect((await get(worker, '/readyz')).status).toBe(200);
    expect(await (await get(worker, '/metrics')).text()).toMatch(/^breakglass_requests_total\{.*outcome="expired".*\} 1$/m);
    const slashToWorker = await worker.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: 'help' });
    expect(slashToWorker.status).toBe(404);
    expect(worker.logs).toContain('"role":"worker"');
    expect(web.logs).toContain('"role":"web"');

    await Promise.all([web.stop(), worker.stop()]);
  });

  it('a web process without a signing secret or an app token refuses to start, saying what it needs', async () => {
    const bot = new BotProcess({ policyYaml, slackApiUrl: slack.url, queueName, responseUrl: () => slack.responseUrl(), env: { SLACK_SIGNING_SECRET: '' }, args: ['--role=web'] });
    processes.push(bot);
    await expect(bot.start()).rejects.toThrow(/SLACK_SIGNING_SECRET is not set \(see \.env\.example\); the web role needs it, or SLACK_APP_TOKEN for Socket Mode/);
  });
});
