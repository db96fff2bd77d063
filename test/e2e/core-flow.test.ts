import { expiryJobId } from '../../src/jobs/expiry-queue';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { buttonValue, ephemeralFor as ephemeralAnswer, requestAccess as request, startE2eBot, statusBecomes, textOf } from './e2e-helpers';
import { APPROVER1, APPROVER2, CHANNEL, GROUP_LEAD, OUTSIDER, REQUESTER } from './policy-fixture';

const target = new TargetDatabase();
/** A requester whose login on the target has CREATEROLE, which the policy does not allow. */
const MAKER = 'U0MAKER';
const webhook = new WebhookReceiver('deploy-hook-secret');
let harness: BotHarness;
let login: string;
let writeRole: string;

const requestAccess = (text: string) => request(harness, text);
const ephemeralFor = (userId: string, after: number) => ephemeralAnswer(harness, userId, after);

beforeAll(async () => {
  await webhook.start();
  // MAKER's login is created with CREATEROLE by the test that uses it.
  ({ harness, login, writeRole } = await startE2eBot(target, webhook, { policy: { identities: { [MAKER]: target.name('maker') } } }));
  harness.slack.setUserGroup('S0SRELEADS', [GROUP_LEAD]);
});

afterAll(async () => {
  await harness?.stop();
  await webhook.stop();
  await target.dropAll();
});

describe('the core flow on a real PostgreSQL role', () => {
  it('goes from /breakglass through two approvals to a verified grant, then revokes at expiry with an audit summary', async () => {
    const { request, message } = await requestAccess('payments-db write 4s INC-4211 payout worker stuck, need to requeue');
    expect(message.args.channel).toBe(CHANNEL);
    expect(textOf(message.args)).toContain('payout worker stuck, need to requeue');
    expect(textOf(message.args)).toContain('INC-4211');
    expect(textOf(message.args)).toContain('Waiting for 2 more approvals');
    expect(buttonValue(message.args.blocks, ActionIds.deny)).toBe(request.id);
    expect(request).toMatchObject({ status: 'PENDING', requesterLogin: login, grantName: writeRole, requiredApprovals: 2, durationSeconds: 4 });

    let ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.approve, REQUESTER, request);
    expect(await ephemeralFor(REQUESTER, ephemerals)).toMatch(/cannot approve your own request/);

    ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.approve, OUTSIDER, request);
    expect(await ephemeralFor(OUTSIDER, ephemerals)).toMatch(/not an approver/);

    ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.approve, APPROVER1, request);
    expect(await ephemeralFor(APPROVER1, ephemerals)).toMatch(/1 more needed/);
    const update = await harness.slack.waitForCall('chat.update', (args) => textOf(args).includes(`<@${APPROVER1}>`) && textOf(args).includes('1 more approval'));
    expect(update.args.ts).toBe(request.messageTs);
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && /approved \(1 of 2/.test(args.text));

    ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.approve, APPROVER1, request);
    expect(await ephemeralFor(APPROVER1, ephemerals)).toMatch(/already approved/);
    expect((await harness.request(request.id)).approvals).toHaveLength(1);
    expect(await target.hasRole(login, writeRole)).toBe(false);

    await harness.click(ActionIds.approve, APPROVER2, request);
    const active = await waitFor(async () => {
      const current = await harness.request(request.id);
      return current.status === 'ACTIVE' ? current : null;
    }, 'the request to become active');
    expect(await target.hasRole(login, writeRole)).toBe(true);
    expect(active.grant).toMatchObject({ login, status: 'ACTIVE' });
    expect(active.expiresAt!.getTime() - active.decidedAt!.getTime()).toBe(4000);
    // The expiry job is keyed by the request and carries its id only: no logins, no secrets.
    const job = await harness.bot.expiryQueue.queue.getJob(expiryJobId(request.id));
    expect(job?.data).toEqual({ requestId: request.id });
    expect(await job?.getState()).toBe('delayed');

    await harness.slack.waitForCall('chat.update', (args) => args.ts === request.messageTs && textOf(args).includes('Active') && !textOf(args).includes(ActionIds.approve));
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && args.text.includes('Granted'));
    const dm = await harness.slack.waitForCall('conversations.open', (args) => args.users === REQUESTER);
    expect(dm).toBeDefined();
    await harness.slack.waitForCall('chat.postMessage', (args) => args.channel === `D${REQUESTER}` && args.text.includes('is active'));

    // The BullMQ job revokes at expiry; nobody clicks anything.
    const ended = await waitFor(
      async () => {
        const current = await harness.request(request.id);
        return current.status === 'EXPIRED' ? current : null;
      },
      'the request to expire',
      15_000,
    );
    expect(await target.hasRole(login, writeRole)).toBe(false);
    expect(ended.grant).toMatchObject({ status: 'REVOKED' });
    expect(ended.endedAt!.getTime()).toBeGreaterThanOrEqual(ended.expiresAt!.getTime());

    const summary = await harness.slack.waitForCall('chat.postMessage', (args) => !args.thread_ts && args.channel === CHANNEL && args.text.startsWith('Audit summary'));
    const summaryText = textOf(summary.args);
    for (const expected of [
      `<@${REQUESTER}>`,
      'payments-db',
      'write',
      'payout worker stuck',
      'INC-4211',
      `<@${APPROVER1}>`,
      `<@${APPROVER2}>`,
      'Granted',
      'Expired',
      'Actual duration',
    ]) {
      expect(summaryText).toContain(expected);
    }
    // The full timeline, in order, and a link back to the approval thread.
    const timeline = summaryText.slice(summaryText.indexOf('*Timeline:*'));
    const steps = ['requested `write` on `payments-db`', `<@${APPROVER1}> approved (1 of 2)`, `<@${APPROVER2}> approved (2 of 2)`, 'Granted `', 'Access revoked at expiry'];
    const positions = steps.map((step) => timeline.indexOf(step));
    expect(positions.every((position) => position > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(summaryText).toContain(`https://test.slack.com/archives/${CHANNEL}/p${request.messageTs!.replace('.', '')}`);
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && args.text.startsWith('Audit summary'));
    expect(await harness.auditActions(request.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED']);

    // A second run of the job (a retry, another process, the reconciler) changes nothing and posts nothing.
    // (App Home tabs are republished in the background after the expiry and may still be arriving: not counted.)
    const slackCalls = () => harness.slack.calls.filter((call) => call.method !== 'views.publish').length;
    const callsBefore = slackCalls();
    await harness.bot.service.processExpiry(request.id);
    expect((await harness.auditActions(request.id)).length).toBe(6);
    expect(slackCalls()).toBe(callsBefore);
    expect(await target.hasRole(login, writeRole)).toBe(false);
  });

  it('lets a member of an approver user group approve', async () => {
    const { request } = await requestAccess('payments-db read 1h INC-7 read the payout table');
    await harness.click(ActionIds.approve, GROUP_LEAD, request);
    await waitFor(async () => (await harness.request(request.id)).status === 'ACTIVE', 'group approval to activate');
    expect(await target.hasRole(login, target.name('read'))).toBe(true);
    // The requester ends it early.
    await harness.click(ActionIds.revokeNow, REQUESTER, request);
    await waitFor(async () => (await harness.request(request.id)).status === 'REVOKED', 'revoke now');
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
  });

  it('ends the request on one Deny and tells the thread', async () => {
    const { request } = await requestAccess('payments-db write 30m INC-9 need to fix a row');
    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.deny, APPROVER1, request);
    expect(await ephemeralFor(APPROVER1, ephemerals)).toMatch(/You denied/);
    const denied = await harness.request(request.id);
    expect(denied).toMatchObject({ status: 'DENIED', decidedBy: APPROVER1 });
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && args.text.includes('denied'));
    const after = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.approve, APPROVER2, request);
    expect(await ephemeralFor(APPROVER2, after)).toMatch(/already denied/);
    expect(await target.hasRole(login, writeRole)).toBe(false);
  });

  it('marks a grant the target refuses as failed, says why in the thread, and grants nothing', async () => {
    const { request } = await requestAccess('payments-db broken 10m INC-10 this role is missing on the target');
    await harness.click(ActionIds.approve, APPROVER1, request);
    const failed = await waitFor(async () => {
      const current = await harness.request(request.id);
      return current.status === 'FAILED' ? current : null;
    }, 'the failed grant to be rolled back');
    expect(failed.failureReason).toMatch(/role "bg_role_that_does_not_exist" does not exist/);
    expect(failed.grant).toBeNull();
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && /Granting BG-\d+ failed: .*does not exist/.test(args.text));
    expect(await harness.auditActions(request.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANT_FAILED', 'ROLLED_BACK']);
  });

  it('refuses to grant to a login with more power than the policy allows, and says why and how to fix it', async () => {
    const maker = await target.createRole('maker', { login: true, attributes: 'CREATEROLE' });
    const { request: asked } = await request(harness, 'payments-db read 10m INC-11 read the payout table', MAKER);
    await harness.click(ActionIds.approve, APPROVER1, asked);
    const failed = await waitFor(async () => {
      const current = await harness.request(asked.id);
      return current.status === 'FAILED' ? current : null;
    }, 'the refused grant to fail');
    expect(failed.failureReason).toMatch(new RegExp(`^refusing to grant: login "${maker}" has CREATEROLE, beyond what the policy allows`));
    expect(failed.grant).toBeNull();
    const notice = await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === asked.messageTs && /Granting BG-\d+ failed/.test(args.text));
    expect(notice.args.text).toContain(`login "${maker}" has CREATEROLE`);
    expect(notice.args.text).toContain("add createrole to the provider's allowLoginAttributes");
    expect(await target.hasRole(maker, target.name('read'))).toBe(false);
    expect(await harness.auditActions(asked.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANT_FAILED', 'ROLLED_BACK']);
  });
});

describe('the core flow on the webhook provider', () => {
  it('grants and revokes through signed webhooks, with Revoke now by the requester', async () => {
    const { request } = await requestAccess('deploy-console operator 2h - deploying the hotfix');
    expect(request.ticket).toBeNull();
    await harness.click(ActionIds.approve, APPROVER1, request);
    await waitFor(async () => (await harness.request(request.id)).status === 'ACTIVE', 'the webhook grant');
    const grant = webhook.received.find((hook) => hook.action === 'grant' && hook.payload.requestId === request.id);
    expect(grant).toBeDefined();
    expect(grant!.signatureValid).toBe(true);
    expect(grant!.verification).toMatchObject({ ok: true, scheme: 'v1' });
    expect(grant!.payload).toMatchObject({
      user: { slackId: REQUESTER, login },
      resource: 'deploy-console',
      role: 'operator',
      reason: 'deploying the hotfix',
      ticket: null,
    });
    expect(new Date(grant!.payload.expiresAt).getTime()).toBe((await harness.request(request.id)).expiresAt!.getTime());

    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.revokeNow, OUTSIDER, request);
    expect(await ephemeralFor(OUTSIDER, ephemerals)).toMatch(/Only the requester/);

    await harness.click(ActionIds.revokeNow, REQUESTER, request);
    const revoked = await waitFor(async () => {
      const current = await harness.request(request.id);
      return current.status === 'REVOKED' ? current : null;
    }, 'revoke now');
    expect(revoked.endedBy).toBe(REQUESTER);
    expect(webhook.received.some((hook) => hook.action === 'revoke' && hook.payload.requestId === request.id && hook.signatureValid)).toBe(true);
    expect(webhook.granted.size).toBe(0);
    const summary = await harness.slack.waitForCall('chat.postMessage', (args) => !args.thread_ts && args.text.startsWith('Audit summary') && args.text.includes('deploy-console'));
    expect(textOf(summary.args)).toContain('Revoked early');
    expect(await harness.auditActions(request.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'REVOKE_REQUESTED', 'REVOKED']);
  });

  it('cannot be replayed: a captured grant is refused once 5 minutes old, a forged timestamp breaks the signature, and a quick replay changes nothing', async () => {
    const { request } = await requestAccess('deploy-console operator 1h - replay check');
    await harness.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(harness, request.id, 'ACTIVE');
    await harness.click(ActionIds.revokeNow, REQUESTER, request);
    await statusBecomes(harness, request.id, 'REVOKED');
    const grant = webhook.received.find((hook) => hook.action === 'grant' && hook.payload.requestId === request.id)!;
    const accessKey = `${login}:deploy-console:operator`;
    expect(webhook.granted.has(accessKey)).toBe(false);

    // The same delivery arriving 6 minutes after it was signed: as is, and with its timestamp moved to that moment
    // (which the signature covers, so it no longer matches).
    const signedAt = Number(/^t=(\d+),/.exec(String(grant.headers['x-breakglass-signature']))![1]);
    const forged = String(grant.headers['x-breakglass-signature']).replace(/^t=\d+/, `t=${signedAt + 360}`);
    webhook.clockAheadMs = 6 * 60_000;
    try {
      expect(await webhook.replay(grant)).toEqual({ status: 401, body: { error: 'bad signature: too-old' } });
      expect(await webhook.replay(grant, { 'x-breakglass-signature': forged })).toEqual({ status: 401, body: { error: 'bad signature: mismatch' } });
    } finally {
      webhook.clockAheadMs = 0;
    }
    // Within the 5 minutes the signature holds, but the receiver remembers the key it applied: nothing is granted again.
    expect(await webhook.replay(grant)).toEqual({ status: 200, body: { result: 'already' } });
    expect(webhook.granted.has(accessKey)).toBe(false);
  });
});
