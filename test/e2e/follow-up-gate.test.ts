import { ActionIds, ExtendModal, RequestModal } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { plainTextInputValue, staticSelectValue } from '../support/slack-request-signer';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { endLiveRequests, ephemeralFor, requestAccess, startE2eBot, statusBecomes, textOf } from './e2e-helpers';
import { APPROVER1, CHANNEL, OUTSIDER, REQUESTER } from './policy-fixture';

/** The follow-up gate over signed HTTP, with one slot: a follow-up stuck in a Slack call (the fake Slack holds the
 * answer to one chat.postEphemeral until the test lets it go) holds the slot. Clicks arriving meanwhile are still
 * acked at once; their follow-ups wait for the slot, or run anyway after the maximum wait; opening or updating a
 * modal never waits. */

/** Makes the fake Slack hold its answer to the next chat.postEphemeral until `release()`. */
function holdNextEphemeral(harness: BotHarness) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let releasedAt = Number.POSITIVE_INFINITY;
  harness.slack.respondOnce('chat.postEphemeral', async () => {
    await released;
    return undefined; // then the usual answer
  });
  return {
    release() {
      releasedAt = Date.now();
      release();
    },
    get releasedAt() {
      return releasedAt;
    },
  };
}

/** An outsider's Approve click: refused, so its follow-up's one Slack call is the ephemeral refusal. Resolves once
 * that call reached the fake Slack (the follow-up is then stuck in it, holding the slot). */
async function clickThatHangs(harness: BotHarness, request: { id: string; channelId: string; messageTs: string | null }) {
  const hold = holdNextEphemeral(harness);
  const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
  expect((await harness.click(ActionIds.approve, OUTSIDER, request)).status).toBe(200);
  await waitFor(
    () =>
      harness.slack
        .callsOf('chat.postEphemeral')
        .slice(ephemerals)
        .find((call) => call.args.user === OUTSIDER),
    'the refusal to be on its way',
  );
  return hold;
}

describe('with one slot and a long maximum wait', () => {
  const target = new TargetDatabase();
  let harness: BotHarness;

  beforeAll(async () => {
    ({ harness } = await startE2eBot(target, undefined, { harness: { config: { slackFollowUpConcurrency: 1 }, followUpMaxWaitMs: 60_000 } }));
  });

  // One live request per requester and role: what a test left pending or active is ended before the next one asks.
  afterEach(async () => {
    await endLiveRequests(harness);
  });

  afterAll(async () => {
    await harness?.stop();
    await target.dropAll();
  });

  it('acks a click at once while another follow-up holds the slot, and runs its follow-up once the slot is free', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-1 rotate the payout keys');
    const hold = await clickThatHangs(harness, request);

    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    expect((await harness.click(ActionIds.approve, APPROVER1, request)).status).toBe(200);
    // Acked, and nothing done yet: the slot is taken, and nothing has waited anywhere near the maximum.
    expect((await harness.request(request.id)).approvals).toHaveLength(0);

    hold.release();
    const answer = await waitFor(
      () =>
        harness.slack
          .callsOf('chat.postEphemeral')
          .slice(ephemerals)
          .find((call) => call.args.user === APPROVER1),
      'the answer to the approver',
    );
    expect(answer.args.text).toMatch(/You approved BG-\d+; 1 more needed/);
    expect(answer.at).toBeGreaterThanOrEqual(hold.releasedAt);
    expect((await harness.request(request.id)).approvals.map((approval) => approval.approverId)).toEqual([APPROVER1]);
  });

  it('acks a request form submission at once and posts the request once the slot is free', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-2 rotate the payout keys');
    const hold = await clickThatHangs(harness, request);

    const { blocks } = RequestModal;
    const before = await harness.db.accessRequest.count();
    const response = await harness.sender.viewSubmission({
      userId: REQUESTER,
      callbackId: RequestModal.callbackId,
      privateMetadata: CHANNEL,
      values: {
        [blocks.resource.blockId]: { [blocks.resource.actionId]: staticSelectValue('payments-db') },
        // read: the held click is on this requester's write request (one live request per role).
        [`${blocks.role.blockId}:payments-db`]: { [blocks.role.actionId]: staticSelectValue('read') },
        [blocks.duration.blockId]: { [blocks.duration.actionId]: plainTextInputValue('20m') },
        [blocks.ticket.blockId]: { [blocks.ticket.actionId]: plainTextInputValue('INC-3') },
        [blocks.reason.blockId]: { [blocks.reason.actionId]: plainTextInputValue('submitted while the slot is taken') },
      },
    });
    expect(response.status).toBe(200);
    expect(response.body).toBe('');
    expect(await harness.db.accessRequest.count()).toBe(before);

    hold.release();
    const posted = await waitFor(
      () => harness.slack.callsOf('chat.postMessage').find((call) => textOf(call.args).includes('submitted while the slot is taken')),
      'the approval message of the submitted request',
    );
    expect(posted.at).toBeGreaterThanOrEqual(hold.releasedAt);
    expect(await harness.db.accessRequest.count()).toBe(before + 1);
  });

  it('opens and updates modals without waiting for the slot', async () => {
    // Active access for the requester, for the Extend button (read needs one approval).
    const { request: read } = await requestAccess(harness, 'payments-db read 30m INC-4 check the ledger');
    const approved = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.click(ActionIds.approve, APPROVER1, read);
    await ephemeralFor(harness, APPROVER1, approved);
    const active = await statusBecomes(harness, read.id, 'ACTIVE');

    const { request: pending } = await requestAccess(harness, 'payments-db write 30m INC-5 rotate the payout keys');
    const hold = await clickThatHangs(harness, pending);

    // /breakglass on its own opens the request form.
    const opened = harness.slack.callsOf('views.open').length;
    expect((await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: '', triggerId: 'trigger-form' })).status).toBe(200);
    const form = await waitFor(
      () =>
        harness.slack
          .callsOf('views.open')
          .slice(opened)
          .find((call) => call.args.trigger_id === 'trigger-form'),
      'the request form',
    );
    expect(form.args.view.callback_id).toBe(RequestModal.callbackId);

    // Picking a resource in it re-renders its roles.
    const updated = harness.slack.callsOf('views.update').length;
    await harness.sender.selectAction({
      userId: REQUESTER,
      actionId: ActionIds.modalResource,
      blockId: RequestModal.blocks.resource.blockId,
      selectedValue: 'deploy-console',
      view: { id: 'V0FORM', callbackId: RequestModal.callbackId, privateMetadata: CHANNEL },
    });
    await waitFor(
      () =>
        harness.slack
          .callsOf('views.update')
          .slice(updated)
          .find((call) => call.args.view_id === 'V0FORM'),
      'the form re-rendered',
    );

    // Extend opens its form.
    await harness.sender.blockAction({ userId: REQUESTER, channelId: active.channelId, actionId: ActionIds.extendAccess, value: active.id, triggerId: 'trigger-extend' });
    const extend = await waitFor(
      () =>
        harness.slack
          .callsOf('views.open')
          .slice(opened)
          .find((call) => call.args.trigger_id === 'trigger-extend'),
      'the Extend form',
    );
    expect(extend.args.view.callback_id).toBe(ExtendModal.callbackId);

    // All while the slot was still taken.
    expect(hold.releasedAt).toBe(Number.POSITIVE_INFINITY);
    hold.release();
  });
});

describe('with one slot and a short maximum wait', () => {
  const target = new TargetDatabase();
  let harness: BotHarness;

  beforeAll(async () => {
    ({ harness } = await startE2eBot(target, undefined, { harness: { config: { slackFollowUpConcurrency: 1 }, followUpMaxWaitMs: 200, captureLogs: true } }));
  });

  // One live request per requester and role: what a test left pending or active is ended before the next one asks.
  afterEach(async () => {
    await endLiveRequests(harness);
  });

  afterAll(async () => {
    await harness?.stop();
    await target.dropAll();
  });

  it('runs a follow-up that waited the maximum even though the slot is still held, and counts and logs it', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-6 rotate the payout keys');
    const hold = await clickThatHangs(harness, request);

    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    expect((await harness.click(ActionIds.approve, APPROVER1, request)).status).toBe(200);
    expect(await ephemeralFor(harness, APPROVER1, ephemerals)).toMatch(/You approved BG-\d+; 1 more needed/);
    expect((await harness.request(request.id)).approvals.map((approval) => approval.approverId)).toEqual([APPROVER1]);
    expect(hold.releasedAt).toBe(Number.POSITIVE_INFINITY);
    const pastLimit = await harness.bot.metrics.registry.getSingleMetric('breakglass_slack_follow_ups_past_limit_total')!.get();
    expect(pastLimit.values[0].value).toBeGreaterThanOrEqual(1);
    expect(harness.logs.some((line) => line.includes('run past SLACK_FOLLOW_UP_CONCURRENCY'))).toBe(true);

    hold.release();
  });
});
