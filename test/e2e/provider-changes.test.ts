import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { createPrisma } from '../../src/db/prisma';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { TEST_BOT_TOKEN, truncateAll } from '../support/bot-harness';
import { BotProcess } from '../support/bot-process';
import { FakeSlackApi } from '../support/fake-slack-api';
import { TargetDatabase } from '../support/target-database';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { buttonValue } from './e2e-helpers';
import { APPROVER1, CHANNEL, e2ePolicy, REQUESTER } from './policy-fixture';

/** The bot as a real process, started again under a policy whose providers changed while grants were live: it
 * refuses to start and lists them, unless BREAKGLASS_PROVIDER_CHANGE says what to do. */
const target = new TargetDatabase();
const webhook = new WebhookReceiver('provider-changes-secret');
const slack = new FakeSlackApi({ expectedToken: TEST_BOT_TOKEN });
const db = createPrisma(process.env.TEST_DATABASE_URL!);
const queueName = `bg-provchg-${randomBytes(4).toString('hex')}`;
const running: BotProcess[] = [];
/** The same target database at another address: "the database moved". */
let moved: { proxy: TcpProxy; url: string };
let login: string;
let readRole: string;
let roles: { readRole: string; writeRole: string };

beforeAll(async () => {
  await Promise.all([webhook.start(), slack.start(), target.connect()]);
  login = await target.createRole('alice', { login: true });
  roles = { readRole: await target.createRole('read', { login: false }), writeRole: await target.createRole('write', { login: false }) };
  readRole = roles.readRole;
  moved = await TcpProxy.for(target.url);
  await truncateAll();
});

afterAll(async () => {
  await Promise.all(running.map((bot) => bot.kill()));
  const queue = new Queue(queueName, { connection: { url: process.env.TEST_REDIS_URL } });
  await queue.obliterate({ force: true });
  await queue.close();
  await moved?.proxy.stop();
  await Promise.all([webhook.stop(), slack.stop(), db.$disconnect()]);
  await target.dropAll();
});

function policy(postgresUrl: string, options: { withWebhook: boolean }): string {
  const yaml = e2ePolicy({ login, ...roles, postgresUrl, webhookUrl: webhook.url, webhookSecret: webhook.secret });
  if (options.withWebhook) return yaml;
  // The deploy-console resource taken out of the policy: its grants' provider vanished.
  return yaml.slice(0, yaml.indexOf('  - id: deploy-console'));
}

function bot(policyYaml: string, env: Record<string, string> = {}): BotProcess {
  const process = new BotProcess({ policyYaml, slackApiUrl: slack.url, queueName, responseUrl: () => slack.responseUrl(), env: { RECONCILE_EVERY: '1s', ...env } });
  running.push(process);
  return process;
}

/** Starts a process that must refuse to start; returns what it printed. */
async function refusedStart(process: BotProcess): Promise<string> {
  const error = await process.start().then(
    () => null,
    (err: Error) => err,
  );
  expect(error?.message).toMatch(/^bot process exited with 1:/);
  return error!.message;
}

async function grantThrough(process: BotProcess, text: string) {
  const posted = slack.callsOf('chat.postMessage').length;
  await process.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text });
  const message = await waitFor(
    () =>
      slack
        .callsOf('chat.postMessage')
        .slice(posted)
        .find((call) => buttonValue(call.args.blocks ?? [], ActionIds.approve)),
    'the approval message',
  );
  const id = buttonValue(message.args.blocks, ActionIds.approve)!;
  const request = await waitFor(async () => {
    const stored = await db.accessRequest.findUniqueOrThrow({ where: { id } });
    return stored.messageTs ? stored : null;
  }, 'the stored message ts');
  await process.sender.blockAction({ userId: APPROVER1, channelId: CHANNEL, actionId: ActionIds.approve, value: id, messageTs: request.messageTs! });
  await waitFor(async () => (await statusOf(id)) === 'ACTIVE', `${text} to be granted`);
  return db.accessRequest.findUniqueOrThrow({ where: { id }, include: { grant: true } });
}

const statusOf = async (id: string) => (await db.accessRequest.findUniqueOrThrow({ where: { id } })).status;
const actionsOf = async (id: string) => (await db.auditEvent.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } })).map((event) => event.action);

describe('a start-up under a policy whose providers changed under live grants', () => {
  it('refuses and lists the grants; with revoke it revokes the changed ones with the new configuration and alerts the vanished ones', async () => {
    const first = await bot(policy(target.url, { withWebhook: true })).start();
    const database = await grantThrough(first, 'payments-db read 1h INC-1 before the move');
    const hook = await grantThrough(first, 'deploy-console operator 1h - before the console goes');
    await first.stop();
    expect(database.grant?.providerDescription).toBe(`postgres ${new URL(target.url).protocol}//${new URL(target.url).host}${new URL(target.url).pathname} mode=membership`);
    expect(hook.grant?.providerDescription).toBe(`webhook ${webhook.url}`);
    expect(await target.hasRole(login, readRole)).toBe(true);

    // The database moved (same data, another address) and the console left the policy.
    const changedPolicy = policy(moved.url, { withWebhook: false });
    const output = await refusedStart(bot(changedPolicy));
    expect(output).toContain('the provider of 2 live grants changed since they were made:');
    expect(output).toContain(
      `BG-${database.number} payments-db/read for ${login}: made with ${database.grant!.providerDescription}, the policy now says postgres postgresql://127.0.0.1:${new URL(moved.url).port}`,
    );
    expect(output).toContain(`BG-${hook.number} deploy-console/operator for ${login}: made with webhook ${webhook.url}, and deploy-console is no longer in the policy`);
    expect(output).toContain('BREAKGLASS_PROVIDER_CHANGE=revoke');
    expect(output).not.toContain(webhook.secret);
    // Nothing was changed: still live, as they were.
    expect([await statusOf(database.id), await statusOf(hook.id)]).toEqual(['ACTIVE', 'ACTIVE']);
    expect(await actionsOf(database.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED']);

    const revoking = await bot(changedPolicy, { BREAKGLASS_PROVIDER_CHANGE: 'revoke' }).start();
    await waitFor(async () => (await statusOf(database.id)) === 'REVOKED', 'the moved database grant to be revoked');
    expect(await target.hasRole(login, readRole)).toBe(false);
    expect(await actionsOf(database.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'PROVIDER_CHANGE_REVOKED', 'REVOKE_REQUESTED', 'REVOKED']);
    await waitFor(
      () =>
        slack.callsOf('chat.postMessage').some((call) => call.args.thread_ts === database.messageTs && String(call.args.text).includes('The provider of `payments-db` changed')),
      'the thread to hear why',
    );
    // The console's grant cannot be revoked by anyone here: it stays, and its thread is alerted.
    expect(await statusOf(hook.id)).toBe('ACTIVE');
    expect(await actionsOf(hook.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'PROVIDER_VANISHED']);
    await waitFor(
      () => slack.callsOf('chat.postMessage').some((call) => call.args.thread_ts === hook.messageTs && String(call.args.text).includes('is no longer in the policy')),
      'the vanished alert',
    );
    await revoking.stop();

    // Decided once: the next start under the same policy needs no setting.
    const again = await bot(changedPolicy).start();
    await again.stop();
    expect(await actionsOf(hook.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'PROVIDER_VANISHED']);
  });

  it('with revoke, a grant that is not on the target the policy names now is alerted, not "revoked" there, and stays live', async () => {
    await truncateAll();
    const first = await bot(policy(moved.url, { withWebhook: false })).start();
    const request = await grantThrough(first, 'payments-db read 1h INC-3 granted on the old target');
    await first.stop();
    // The policy now names a target that does not hold this grant (played by taking it away here by hand): a
    // revocation there would "succeed" and prove nothing about the target the access was granted on.
    await target.query(`REVOKE "${readRole}" FROM "${login}"`);

    const revoking = await bot(policy(target.url, { withWebhook: false }), { BREAKGLASS_PROVIDER_CHANGE: 'revoke' }).start();
    const audit = await waitFor(() => db.auditEvent.findFirst({ where: { requestId: request.id, action: 'PROVIDER_CHANGE_NOT_FOUND' } }), 'the not-found record');
    expect(audit.details).toMatchObject({ setting: 'revoke', checked: true, made: request.grant!.providerDescription });
    await waitFor(
      () =>
        slack
          .callsOf('chat.postMessage')
          .some((call) => call.args.thread_ts === request.messageTs && String(call.args.text).includes('is not in place on the target the policy names now')),
      'the alert in the thread',
    );
    expect(await statusOf(request.id)).toBe('ACTIVE');
    expect(await actionsOf(request.id)).not.toContain('REVOKE_REQUESTED');
    await revoking.stop();
  });

  it('with accept, keeps the grants and records that the new configuration now revokes them', async () => {
    await truncateAll();
    const first = await bot(policy(moved.url, { withWebhook: false })).start();
    const request = await grantThrough(first, 'payments-db read 1h INC-2 before moving back');
    await first.stop();

    const back = policy(target.url, { withWebhook: false });
    expect(await refusedStart(bot(back))).toContain(`BG-${request.number} payments-db/read for ${login}: made with postgres postgresql://127.0.0.1:${new URL(moved.url).port}`);

    const accepting = await bot(back, { BREAKGLASS_PROVIDER_CHANGE: 'accept' }).start();
    const audit = await db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'PROVIDER_CHANGE_ACCEPTED' } });
    expect(audit.details).toMatchObject({ setting: 'accept', made: request.grant!.providerDescription, now: expect.stringContaining(new URL(target.url).host) });
    expect(await statusOf(request.id)).toBe('ACTIVE');
    expect(await target.hasRole(login, readRole)).toBe(true);
    const grant = await db.grant.findUniqueOrThrow({ where: { requestId: request.id } });
    expect(grant.providerDescription).toBe(audit.details && (audit.details as { now: string }).now);
    // The new configuration revokes it.
    await accepting.sender.blockAction({ userId: REQUESTER, channelId: CHANNEL, actionId: ActionIds.revokeNow, value: request.id, messageTs: request.messageTs! });
    await waitFor(async () => (await statusOf(request.id)) === 'REVOKED', 'revoke now under the accepted configuration');
    expect(await target.hasRole(login, readRole)).toBe(false);
    await accepting.stop();
  });
});
