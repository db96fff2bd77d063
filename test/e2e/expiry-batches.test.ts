import { ActionIds } from '../../src/slack/blocks/action-ids';
import { RevocationFailedError } from '../../src/services/access-service';
import { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { isFullSummaryOf, namesSummaryOf } from './commit-first-helpers';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1 } from './policy-fixture';

/** Batched expiry (ExpirySweeper): when many grants end together, one expiry job revokes all that are due, while
 * each grant's own job stays the safety net. Grants go through the real flow onto a real webhook target; only
 * their expiry is moved into the past in the database, so they are due together without waiting for it. */
const target = new TargetDatabase();
const webhook = new WebhookReceiver('expiry-batches-secret');
let harness: BotHarness;
const others: BotHarness[] = [];
let policyYaml: string;

/** Far away (and hour-aligned), so the scheduled reconcile never sweeps in the middle of a test. */
const RECONCILE_EVERY_MS = 3_600_000;
/** Several requesters, each its own login on the target (the fake Slack's email local part). */
const USERS = ['U0ALPHA', 'U0BRAVO', 'U0CHARLIE', 'U0DELTA', 'U0ECHO', 'U0FOXTROT'];
const loginOf = (userId: string) => userId.toLowerCase();
const SECOND_ACCOUNT = 'U0ALPHA2';

beforeAll(async () => {
  await webhook.start();
  const extraResources = `
  - id: team-console
    provider: { type: webhook, url: "${webhook.url}", secret: "${webhook.secret}", timeout: 2s }
    requesters: ["*"]
    approvers: [U0APPROVER1]
    roles: [ { id: operator, approvals: 1, maxDuration: 2h, requireTicket: false } ]`;
  // A second Slack account of U0ALPHA's, mapped to the same login: the two can hold the same access at once.
  const identities = { [SECOND_ACCOUNT]: loginOf(USERS[0]) };
  ({ harness, policyYaml } = await startE2eBot(target, webhook, { policy: { extraResources, identities }, harness: { reconcileEveryMs: RECONCILE_EVERY_MS } }));
});

afterEach(async () => {
  webhook.failRevokesOf.clear();
  for (const other of others.splice(0)) await other.stop();
});

afterAll(async () => {
  await harness?.stop();
  await webhook.stop();
  await target.dropAll();
});

/** An ACTIVE one-hour grant on the webhook target for `userId`. */
async function activeGrant(userId: string) {
  const { request } = await requestAccess(harness, `team-console operator 1h - batch expiry test`, userId);
  await harness.click(ActionIds.approve, APPROVER1, request);
  return statusBecomes(harness, request.id, 'ACTIVE');
}

/** Moves the expiry into the past, as if the hour were over (the queued jobs still sleep until the old time). */
async function makeDue(ids: string[], at = new Date(Date.now() - 1_000)) {
  await harness.db.accessRequest.updateMany({ where: { id: { in: ids } }, data: { expiresAt: at } });
}

/** One after another: the fake Slack tells approval messages apart by order. */
async function activeGrants(users: string[]) {
  const grants = [];
  for (const user of users) grants.push(await activeGrant(user));
  return grants;
}

const revokeCalls = (requestId: string) => webhook.received.filter((hook) => hook.action === 'revoke' && hook.payload.requestId === requestId);
const keyOf = (userId: string) => `${loginOf(userId)}:team-console:operator`;

describe('batched expiry', () => {
  it('revokes every grant that is due in one job run, each once, with its own audit trail', async () => {
    const users = USERS.slice(0, 4);
    const grants = await activeGrants(users);
    for (const user of users) expect(webhook.granted.has(keyOf(user))).toBe(true);
    await makeDue(grants.map((grant) => grant.id));

    // One expiry job's run, for the first grant only.
    await harness.bot.service.processExpiry(grants[0].id);

    const ended = await Promise.all(grants.map((grant) => harness.request(grant.id)));
    for (const request of ended) {
      expect(request.status).toBe('EXPIRED');
      expect(request.grant).toMatchObject({ status: 'REVOKED' });
      expect(revokeCalls(request.id)).toHaveLength(1);
      expect(await harness.auditActions(request.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED']);
    }
    for (const user of users) expect(webhook.granted.has(keyOf(user))).toBe(false);
    // Recorded together: one statement stamped them all.
    expect(new Set(ended.map((request) => request.endedAt!.getTime())).size).toBe(1);
    // The other grants' own jobs, when they run, find their request ended and change nothing.
    for (const grant of grants.slice(1)) await harness.bot.service.processExpiry(grant.id);
    for (const grant of grants) expect(await harness.auditActions(grant.id)).toHaveLength(5);
    // More than three ended together in one channel: the channel reads one digest naming each, linking to its
    // thread, and each thread gets the full audit summary.
    const digest = await waitFor(
      () => harness.slack.callsOf('chat.postMessage').find((call) => !call.args.thread_ts && grants.every((grant) => namesSummaryOf(call, grant.number))),
      'one channel digest naming every grant',
    );
    expect(String(digest.args.text)).toMatch(/^Audit summaries: access ended for 4 grants: /);
    const digestText = JSON.stringify(digest.args.blocks);
    for (const grant of grants) {
      const { messageTs, channelId } = await harness.request(grant.id);
      expect(digestText).toContain(`archives/${channelId}/p${messageTs!.replace('.', '')}|BG-${grant.number}>`);
    }
    expect(harness.slack.callsOf('chat.postMessage').filter((call) => !call.args.thread_ts && grants.some((grant) => isFullSummaryOf(call, grant.number)))).toEqual([]);
    await waitFor(async () => {
      for (const grant of grants) {
        const { messageTs } = await harness.request(grant.id);
        if (!harness.slack.callsOf('chat.postMessage').some((call) => call.args.thread_ts === messageTs && isFullSummaryOf(call, grant.number))) return false;
      }
      return true;
    }, 'the full audit summary in every thread');
  });

  it('keeps sweeping by itself while more grants fall due within seconds, without their own jobs', async () => {
    const grants = await activeGrants(USERS.slice(0, 3));
    const start = Date.now();
    // The first is due now; the others fall due shortly after. Their own jobs still sleep for an hour, and the
    // reconcile is an hour away: only the follow-on sweeps can end them on time.
    await makeDue([grants[0].id], new Date(start - 1_000));
    await makeDue([grants[1].id], new Date(start + 700));
    await makeDue([grants[2].id], new Date(start + 1_400));

    await harness.bot.service.processExpiry(grants[0].id);
    expect((await harness.request(grants[0].id)).status).toBe('EXPIRED');

    for (const grant of grants.slice(1)) {
      const ended = await statusBecomes(harness, grant.id, 'EXPIRED');
      // Not before it was due.
      expect(ended.endedAt!.getTime()).toBeGreaterThanOrEqual(ended.expiresAt!.getTime());
      expect(revokeCalls(grant.id)).toHaveLength(1);
      expect(await harness.auditActions(grant.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED']);
    }
    for (const user of USERS.slice(0, 3)) expect(webhook.granted.has(keyOf(user))).toBe(false);
  });

  it('does not hold up the others when one target refuses, and keeps retrying that one on its own job', async () => {
    const users = USERS.slice(0, 3);
    const grants = await activeGrants(users);
    const [failing, ...healthy] = grants;
    webhook.failRevokesOf.add(loginOf(users[0]));
    await makeDue(grants.map((grant) => grant.id));

    // The failing grant's own job sweeps: the others are revoked, its own failure fails the job (to be retried).
    await expect(harness.bot.service.processExpiry(failing.id)).rejects.toBeInstanceOf(RevocationFailedError);
    for (const grant of healthy) {
      const request = await harness.request(grant.id);
      expect(request.status).toBe('EXPIRED');
      expect(revokeCalls(grant.id)).toHaveLength(1);
    }
    expect((await harness.request(failing.id)).status).toBe('REVOKING');
    // Only a grant that could not be revoked at once passes through REVOKING, with its failure on record.
    expect(await harness.auditActions(failing.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRY_REACHED', 'REVOKE_FAILED']);

    // Its queued job (brought forward, as the reconciler does for overdue grants) keeps retrying with backoff …
    await harness.bot.expiryQueue.runNow(failing.id);
    const failures = async () => (await harness.auditActions(failing.id)).filter((action) => action === 'REVOKE_FAILED').length;
    await waitFor(async () => (await failures()) >= 3, 'two more failed revokes', 15_000);
    expect(webhook.granted.has(keyOf(users[0]))).toBe(true);
    // … until the target takes it.
    webhook.failRevokesOf.clear();
    const expired = await statusBecomes(harness, failing.id, 'EXPIRED', 15_000);
    expect(expired.grant).toMatchObject({ status: 'REVOKED' });
    expect(webhook.granted.has(keyOf(users[0]))).toBe(false);
    expect((await harness.auditActions(failing.id)).filter((action) => action === 'EXPIRED')).toHaveLength(1);
    for (const grant of healthy) expect(await harness.auditActions(grant.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED']);
  });

  it('never revokes a grant twice when two bot processes sweep the same due grants at once', async () => {
    const second = await new BotHarness(policyYaml, { queueName: harness.queueName, reconcileEveryMs: RECONCILE_EVERY_MS }).start();
    others.push(second);
    const grants = await activeGrants(USERS);
    await makeDue(grants.map((grant) => grant.id));

    // Every grant's job runs at the same moment, alternating between the two processes, and the queue's jobs too.
    await Promise.allSettled(grants.map((grant, index) => (index % 2 === 0 ? harness : second).bot.service.processExpiry(grant.id)));
    await Promise.all(grants.map((grant) => harness.bot.expiryQueue.runNow(grant.id)));

    for (const grant of grants) {
      await statusBecomes(harness, grant.id, 'EXPIRED');
      const actions = await harness.auditActions(grant.id);
      expect(actions.filter((action) => action === 'EXPIRED')).toHaveLength(1);
      expect(revokeCalls(grant.id)).toHaveLength(1);
    }
    for (const user of USERS) expect(webhook.granted.has(keyOf(user))).toBe(false);
  });

  it('tells Slack about swept grants only after the sweeps running alongside are done', async () => {
    const [slowUser, ...quickUsers] = USERS.slice(0, 3);
    const [slow, ...quick] = await activeGrants([slowUser, ...quickUsers]);
    const release = webhook.holdRevokes(loginOf(slowUser));
    try {
      // One sweep hangs on its target …
      await makeDue([slow.id]);
      const slowSweep = harness.bot.service.processExpiry(slow.id).then(
        () => Date.now(),
        () => Date.now(),
      );
      await waitFor(async () => revokeCalls(slow.id).length === 1, 'the slow revoke reached the target');
      // … while another one revokes and records the quick grants.
      await makeDue(quick.map((grant) => grant.id));
      await harness.bot.service.processExpiry(quick[0].id);
      for (const grant of quick) expect((await harness.request(grant.id)).status).toBe('EXPIRED');
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      const slowSweepEnded = await slowSweep;
      const summaryOf = (number: number) => harness.slack.callsOf('chat.postMessage').find((call) => !call.args.thread_ts && namesSummaryOf(call, number));
      await waitFor(async () => quick.every((grant) => summaryOf(grant.number)), 'the quick grants summarized');
      for (const grant of quick) expect(summaryOf(grant.number)!.at).toBeGreaterThanOrEqual(slowSweepEnded);
      // The hung revoke was dropped: its grant's own job takes the access away.
      await harness.bot.service.processExpiry(slow.id);
      expect((await harness.request(slow.id)).status).toBe('EXPIRED');
    } finally {
      release();
    }
  });

  it('keeps the access on the target while another active request of the same login holds it', async () => {
    const [sharer, other] = USERS;
    const ending = await activeGrant(sharer);
    const holding = await activeGrant(SECOND_ACCOUNT);
    expect(holding.requesterLogin).toBe(loginOf(sharer));
    const unrelated = await activeGrant(other);
    await makeDue([ending.id, unrelated.id]);

    await harness.bot.service.processExpiry(unrelated.id);

    const ended = await harness.request(ending.id);
    expect(ended.status).toBe('EXPIRED');
    expect(ended.grant).toMatchObject({ status: 'REVOKED' });
    expect(revokeCalls(ending.id)).toHaveLength(0);
    const expiredEvent = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: ending.id, action: 'EXPIRED' } });
    expect(expiredEvent.details).toMatchObject({ keptOnTargetFor: `BG-${holding.number}` });
    expect(webhook.granted.has(keyOf(sharer))).toBe(true);
    expect((await harness.request(unrelated.id)).status).toBe('EXPIRED');
    expect(webhook.granted.has(keyOf(other))).toBe(false);

    // The holder's own expiry then takes the access away.
    await makeDue([holding.id]);
    await harness.bot.service.processExpiry(holding.id);
    expect((await harness.request(holding.id)).status).toBe('EXPIRED');
    expect(webhook.granted.has(keyOf(sharer))).toBe(false);
  });
});
