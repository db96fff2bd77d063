import { Queue } from 'bullmq';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { expiryJobId } from '../../src/jobs/expiry-queue';
import { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1 } from './policy-fixture';

/** Redis is only the alarm clock: losing jobs, restarting the bot or a target failing its revokes must not leave
 * access in place past its expiry. */
const target = new TargetDatabase();
const webhook = new WebhookReceiver('fault-hook-secret');
let policyYaml: string;
let login: string;
let harness: BotHarness;

beforeAll(async () => {
  await webhook.start();
  ({ harness, login, policyYaml } = await startE2eBot(target, webhook));
});

afterAll(async () => {
  await harness?.stop();
  await webhook.stop();
  await target.dropAll();
});

describe('expiry under faults', () => {
  it('still revokes on time after the expiry job is lost from Redis and the bot restarts', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 3s INC-1 lose the job');
    await harness.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(harness, request.id, 'ACTIVE');
    expect(await target.hasRole(login, target.name('read'))).toBe(true);

    // Stop the bot and wipe its queue, as a Redis flush or a failover without persistence would.
    await harness.stop();
    const queue = new Queue(harness.queueName, { connection: { url: process.env.TEST_REDIS_URL } });
    expect(await queue.getJob(expiryJobId(request.id))).toBeUndefined();
    await queue.close();

    // A new process over the same database and queue rebuilds the job at start-up and revokes at expiry.
    harness = new BotHarness(policyYaml, { queueName: harness.queueName });
    await harness.start();
    const expired = await statusBecomes(harness, request.id, 'EXPIRED', 15_000);
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
    expect(expired.endedAt!.getTime()).toBeGreaterThanOrEqual(expired.expiresAt!.getTime());
  });

  it('retries a revoke the target refuses until it succeeds, recording each failure', async () => {
    const { request } = await requestAccess(harness, 'deploy-console operator 2s - target flaps at expiry');
    await harness.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(harness, request.id, 'ACTIVE');
    webhook.failWith = 503;
    await statusBecomes(harness, request.id, 'REVOKING', 10_000);
    const failures = async () => (await harness.auditActions(request.id)).filter((a) => a === 'REVOKE_FAILED').length;
    await waitFor(async () => (await failures()) >= 2, 'two failed revokes', 15_000);
    expect(webhook.granted.size).toBe(1);
    webhook.failWith = null;
    const expired = await statusBecomes(harness, request.id, 'EXPIRED', 15_000);
    expect(webhook.granted.size).toBe(0);
    expect(expired.grant).toMatchObject({ status: 'REVOKED' });
    expect(expired.revokeAttempts).toBeGreaterThanOrEqual(2);
    expect(expired.lastRevokeError).toMatch(/503/);
  });
});

describe('a grant interrupted by a stop', () => {
  it('is rolled back and reported by the reconciler instead of leaving the requester waiting', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 1h INC-3 bot dies mid-grant');
    // As if the bot had reached quorum three minutes ago and died before granting.
    const decidedAt = new Date(Date.now() - 3 * 60_000);
    await harness.db.accessRequest.update({
      where: { id: request.id },
      data: { status: 'APPROVED', decidedAt, decidedBy: APPROVER1, expiresAt: new Date(decidedAt.getTime() + 3600_000), approvalCount: 1 },
    });
    expect(await harness.bot.reconciler.run()).toMatchObject({ interrupted: 1 });
    const failed = await statusBecomes(harness, request.id, 'FAILED');
    expect(failed.failureReason).toMatch(/stopped while granting/);
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && /Granting BG-\d+ failed/.test(args.text));
    expect(await harness.bot.reconciler.run()).toMatchObject({ interrupted: 0 });
  });
});
