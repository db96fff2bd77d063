import { ActionIds, RequestModal } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { plainTextInputValue, staticSelectValue } from '../support/slack-request-signer';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue, outboxDrained, startE2eBot, textOf } from './e2e-helpers';
import { CHANNEL, OUTSIDER, REQUESTER } from './policy-fixture';

const target = new TargetDatabase();
let harness: BotHarness;

beforeAll(async () => {
  ({ harness } = await startE2eBot(target));
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

const requestCount = () => harness.db.accessRequest.count();

async function responseUrlAnswer(after: number): Promise<Record<string, any>> {
  const call = await waitFor(() => harness.slack.callsOf('response_url').slice(after)[0], 'an answer on the response_url');
  return call.args;
}

describe('/breakglass inline', () => {
  it('answers bad arguments ephemerally with usage and an example, and records nothing', async () => {
    const before = await requestCount();
    const response = await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: 'payments-db write' });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ response_type: 'ephemeral' });
    expect(response.json().text).toContain('/breakglass payments-db write 30m INC-4211');
    expect(await requestCount()).toBe(before);
  });

  it.each([
    ['an unknown resource', 'billing-db write 30m INC-1 fix', /billing-db/],
    ['an unknown role', 'payments-db admin 30m INC-1 fix', /`read`, `write`/],
    ['a duration over the role maximum', 'payments-db write 2h INC-1 fix', /1h/],
    ['a malformed duration', 'payments-db write soon INC-1 fix', /duration/i],
    ['a missing ticket where one is required', 'payments-db write 30m - fix', /ticket/i],
    ['a ticket that does not match the pattern', 'payments-db write 30m inc4211 fix', /\^\[A-Z\]\+-\[0-9\]\+\$/],
  ])('refuses %s with an ephemeral explanation and records nothing', async (_what, text, expected) => {
    const before = await requestCount();
    const answers = harness.slack.callsOf('response_url').length;
    const response = await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text });
    expect(response.status).toBe(200);
    const answer = await responseUrlAnswer(answers);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toMatch(expected);
    expect(await requestCount()).toBe(before);
  });

  it('refuses a requester the policy does not allow for that resource', async () => {
    const answers = harness.slack.callsOf('response_url').length;
    await harness.sender.slashCommand({ userId: OUTSIDER, channelId: CHANNEL, text: 'deploy-console operator 30m - deploy' });
    expect((await responseUrlAnswer(answers)).text).toMatch(/deploy-console/);
    expect(await harness.db.accessRequest.count({ where: { requesterId: OUTSIDER } })).toBe(0);
  });

  it('explains both ways of asking on /breakglass help', async () => {
    const answers = harness.slack.callsOf('response_url').length;
    await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: 'help' });
    const answer = await responseUrlAnswer(answers);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toContain('/breakglass <resource> <role> <duration> <ticket>');
    expect(answer.text).toContain('with no arguments');
    expect(answer.text).toContain('payments-db write');
    expect(answer.text).toContain('deploy-console operator');
  });

  it('tells the requester when it cannot post in the channel, and leaves nothing pending', async () => {
    await outboxDrained(harness);
    harness.slack.respondOnce('chat.postMessage', () => ({ ok: false, error: 'not_in_channel' }));
    const answers = harness.slack.callsOf('response_url').length;
    await harness.sender.slashCommand({ userId: REQUESTER, channelId: 'C0NOTJOINED', text: 'payments-db read 30m INC-5 check the ledger' });
    expect((await responseUrlAnswer(answers)).text).toMatch(/Invite me first/);
    const request = await harness.db.accessRequest.findFirstOrThrow({ where: { channelId: 'C0NOTJOINED' } });
    expect(request.status).toBe('FAILED');
  });

  it('falls back to the local part of the Slack email when the policy has no identity', async () => {
    harness.slack.setUser('U0BOB', { profile: { email: 'bob.smith@example.com' } });
    const posted = harness.slack.callsOf('chat.postMessage').length;
    await harness.sender.slashCommand({ userId: 'U0BOB', channelId: CHANNEL, text: 'payments-db read 30m INC-6 check the ledger' });
    await waitFor(() => harness.slack.callsOf('chat.postMessage').length > posted, 'the approval message');
    const request = await harness.db.accessRequest.findFirstOrThrow({ where: { requesterId: 'U0BOB' } });
    expect(request.requesterLogin).toBe('bob.smith');
  });
});

describe('/breakglass modal', () => {
  const { blocks } = RequestModal;

  async function openModal(userId = REQUESTER) {
    const opened = harness.slack.callsOf('views.open').length;
    const response = await harness.sender.slashCommand({ userId, channelId: CHANNEL, text: '', triggerId: `trigger-${userId}` });
    expect(response.status).toBe(200);
    const call = await waitFor(() => harness.slack.callsOf('views.open').slice(opened)[0], 'views.open');
    expect(call.args.trigger_id).toBe(`trigger-${userId}`);
    return call.args.view;
  }

  const optionValues = (view: any, blockId: string) => view.blocks.find((b: any) => b.block_id.startsWith(blockId)).element.options.map((o: any) => o.value);

  it('opens with only what the user may request, and re-renders roles when the resource changes', async () => {
    const view = await openModal();
    expect(view.callback_id).toBe(RequestModal.callbackId);
    expect(view.private_metadata).toBe(CHANNEL);
    expect(optionValues(view, blocks.resource.blockId)).toEqual(['payments-db', 'deploy-console']);
    expect(optionValues(view, blocks.role.blockId)).toEqual(['read', 'write', 'broken']);

    const updates = harness.slack.callsOf('views.update').length;
    await harness.sender.selectAction({
      userId: REQUESTER,
      actionId: ActionIds.modalResource,
      blockId: blocks.resource.blockId,
      selectedValue: 'deploy-console',
      view: { id: 'V0MODAL', callbackId: RequestModal.callbackId, privateMetadata: CHANNEL },
    });
    const update = await waitFor(() => harness.slack.callsOf('views.update').slice(updates)[0], 'views.update');
    expect(update.args.view_id).toBe('V0MODAL');
    expect(optionValues(update.args.view, blocks.role.blockId)).toEqual(['operator']);

    const outsiderView = await openModal(OUTSIDER);
    expect(optionValues(outsiderView, blocks.resource.blockId)).toEqual(['payments-db']);
  });

  function submission(fields: { resource: string; role: string; duration: string; ticket: string; reason: string }) {
    return harness.sender.viewSubmission({
      userId: REQUESTER,
      callbackId: RequestModal.callbackId,
      privateMetadata: CHANNEL,
      values: {
        [blocks.resource.blockId]: { [blocks.resource.actionId]: staticSelectValue(fields.resource) },
        [`${blocks.role.blockId}:${fields.resource}`]: { [blocks.role.actionId]: staticSelectValue(fields.role) },
        [blocks.duration.blockId]: { [blocks.duration.actionId]: plainTextInputValue(fields.duration) },
        [blocks.ticket.blockId]: { [blocks.ticket.actionId]: plainTextInputValue(fields.ticket) },
        [blocks.reason.blockId]: { [blocks.reason.actionId]: plainTextInputValue(fields.reason) },
      },
    });
  }

  it('shows field errors inline and records nothing', async () => {
    const before = await requestCount();
    const response = await submission({ resource: 'payments-db', role: 'write', duration: '3h', ticket: 'INC-1', reason: 'fix' });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ response_action: 'errors', errors: { [blocks.duration.blockId]: expect.stringContaining('1h') } });
    const badTicket = await submission({ resource: 'payments-db', role: 'write', duration: '30m', ticket: 'nope', reason: 'fix' });
    expect(Object.keys(badTicket.json().errors)).toEqual([blocks.ticket.blockId]);
    expect(await requestCount()).toBe(before);
  });

  it('closes on a valid submission and posts the approval message in the channel it was opened from', async () => {
    const posted = harness.slack.callsOf('chat.postMessage').length;
    const response = await submission({ resource: 'payments-db', role: 'write', duration: '20m', ticket: 'INC-77', reason: 'rotate a stuck payout' });
    expect(response.status).toBe(200);
    expect(response.body).toBe('');
    const message = await waitFor(
      () =>
        harness.slack
          .callsOf('chat.postMessage')
          .slice(posted)
          .find((c) => !c.args.thread_ts),
      'the approval message',
    );
    expect(message.args.channel).toBe(CHANNEL);
    expect(textOf(message.args)).toContain('rotate a stuck payout');
    const request = await harness.request(buttonValue(message.args.blocks, ActionIds.approve)!);
    expect(request).toMatchObject({ resourceId: 'payments-db', roleId: 'write', durationSeconds: 1200, ticket: 'INC-77', status: 'PENDING' });
  });
});
