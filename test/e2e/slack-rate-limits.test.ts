import type { View } from '@slack/web-api';
import pino from 'pino';
import { humanRequestId } from '../../src/domain/request-view';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { boltLogger } from '../../src/slack/bolt-logger';
import { WebClientSurface, type SlackMessage } from '../../src/slack/surface';
import type { BotHarness } from '../support/bot-harness';
import { FakeSlackApi, type FakeHttpResponse } from '../support/fake-slack-api';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue, requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, CHANNEL, REQUESTER } from './policy-fixture';

/** Slack answering 429 and 500 over real HTTP: urgent calls are not stuck behind rate-limited posts, and a Slack
 * outage delays messages but never a revocation. Assertions are about the order of calls, not about elapsed time. */

const TOKEN = 'xoxb-test-rate-limit';
const rateLimited = (retryAfterSeconds: number): FakeHttpResponse => ({
  status: 429,
  headers: { 'Retry-After': String(retryAfterSeconds) },
  body: { ok: false, error: 'ratelimited' },
});
const message = (text: string): SlackMessage => ({ text, blocks: [] });
const modal: View = { type: 'modal', title: { type: 'plain_text', text: 'Request access' }, blocks: [] };

describe('WebClientSurface against a rate-limited Slack', () => {
  const slack = new FakeSlackApi({ expectedToken: TOKEN });
  let surface: WebClientSurface;

  beforeAll(async () => {
    await slack.start();
    surface = WebClientSurface.fromToken(TOKEN, { slackApiUrl: slack.url, logger: boltLogger(pino({ level: 'silent' })), postIntervalMs: 10 });
  });
  afterAll(() => slack.stop());

  it('opens modals, answers ephemerally and posts to other channels while one channel waits out Retry-After', async () => {
    slack.respondOnce('chat.postMessage', () => rateLimited(5));
    const busyChannelPost = surface.postMessage('C0BUSY', message('queued behind a 429'));
    await slack.waitForCall('chat.postMessage', (args) => args.channel === 'C0BUSY');

    await surface.openModal('trigger-1', modal);
    await surface.postEphemeral('C0BUSY', REQUESTER, 'your click was seen');
    await surface.updateMessage('C0BUSY', '1700000000.000100', message('updated'));
    await surface.postMessage('C0OTHER', message('another channel'));
    expect((await surface.getAccount(REQUESTER)).email).toBe(`${REQUESTER.toLowerCase()}@example.com`);

    // All of that was answered before the rate-limited post was even retried.
    const attemptsInBusyChannel = () => slack.callsOf('chat.postMessage').filter((call) => call.args.channel === 'C0BUSY');
    expect(attemptsInBusyChannel()).toHaveLength(1);
    await expect(busyChannelPost).resolves.toMatchObject({ ts: expect.any(String) });
    expect(attemptsInBusyChannel()).toHaveLength(2);
  });
});

describe('the bot against a rate-limited or failing Slack', () => {
  const target = new TargetDatabase();
  let harness: BotHarness;
  let login: string;

  beforeAll(async () => {
    ({ harness, login } = await startE2eBot(target));
  });
  afterAll(async () => {
    await harness?.stop();
    await target.dropAll();
  });

  /** Answers the first chat.postMessage that `matches` with `response`, every other one as usual. */
  function answerFirstPost(matches: (args: Record<string, any>) => boolean, response: FakeHttpResponse): void {
    let answered = false;
    harness.slack.respondWith('chat.postMessage', (args) => {
      if (answered || !matches(args)) return undefined;
      answered = true;
      return response;
    });
  }
  const isApprovalMessage = (args: Record<string, any>) => !args.thread_ts && buttonValue(args.blocks ?? [], ActionIds.approve) !== undefined;
  const isChannelSummary = (args: Record<string, any>) => !args.thread_ts && String(args.text).startsWith('Audit summary');

  it('posts a message Slack answered with 429 once Retry-After has passed, and keeps working', async () => {
    answerFirstPost(isApprovalMessage, rateLimited(1));
    const { request } = await requestAccess(harness, 'payments-db read 1h INC-1 posted after a 429');
    const posted = await waitFor(async () => (await harness.request(request.id)).messageTs, 'the approval message to be posted');
    const attempts = harness.slack.callsOf('chat.postMessage').filter((call) => isApprovalMessage(call.args) && buttonValue(call.args.blocks, ActionIds.approve) === request.id);
    expect(attempts).toHaveLength(2);

    await harness.click(ActionIds.approve, APPROVER1, { ...request, messageTs: posted });
    await statusBecomes(harness, request.id, 'ACTIVE');
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === posted && String(args.text).includes('Granted'));
    // Leave no access behind for the next test, which watches the same role being revoked.
    await harness.click(ActionIds.revokeNow, REQUESTER, { ...request, messageTs: posted });
    await statusBecomes(harness, request.id, 'REVOKED');
  });

  it('revokes at expiry while Slack fails the audit summary, and posts the summary once Slack is back', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 2s INC-2 expires during an outage');
    const isThisSummary = (args: Record<string, any>) => isChannelSummary(args) && args.text.includes(`${humanRequestId(request.number)}:`);
    let slackIsDown = true;
    harness.slack.respondWith('chat.postMessage', (args) => (slackIsDown && isThisSummary(args) ? { status: 500, body: 'upstream connect error' } : undefined));
    await harness.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(harness, request.id, 'ACTIVE');

    const expired = await statusBecomes(harness, request.id, 'EXPIRED', 15_000);
    expect(expired.grant).toMatchObject({ status: 'REVOKED' });
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
    const summaryAttempts = () => harness.slack.callsOf('chat.postMessage').filter((call) => isThisSummary(call.args));
    await waitFor(() => summaryAttempts().length >= 1, 'the failed audit summary');

    slackIsDown = false;
    await waitFor(() => summaryAttempts().length >= 2, 'the audit summary to be posted again once Slack is back', 15_000);
  });

  it('opens a modal at once while the channel posts are rate limited', async () => {
    answerFirstPost(isApprovalMessage, rateLimited(5));
    const approvalAttempts = () => harness.slack.callsOf('chat.postMessage').filter((call) => isApprovalMessage(call.args));
    const before = approvalAttempts().length;
    await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: 'payments-db read 1h INC-3 posted after five seconds' });
    await waitFor(() => approvalAttempts().length > before, 'the rate-limited approval message');

    const opened = harness.slack.callsOf('views.open').length;
    await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: '' });
    await waitFor(() => harness.slack.callsOf('views.open').length > opened, 'the modal to open', 3000);
    // The modal did not wait for the channel's Retry-After: the approval message has not been retried yet.
    expect(approvalAttempts().length).toBe(before + 1);

    await waitFor(() => approvalAttempts().length > before + 1, 'the approval message once Retry-After has passed');
  });
});
