import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import type { FakeOutage } from '../support/fake-slack-api';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { deliveredChannelSummaries, deliveredThreadReplies, holdsFor, isFinal, namesSummaryOf } from './commit-first-helpers';
import { buttonValue, requestAccess, startE2eBot } from './e2e-helpers';
import { APPROVER1, CHANNEL } from './policy-fixture';

/** Issue 10, "no access outlives its request": Slack rate-limits the bot while an approver approves a short
 * request. Whatever order Slack's answers come in, the request ends, nothing stays granted on the real PostgreSQL
 * target, and the thread and the channel hear about it once Slack takes messages again.
 *
 * The bug this reproduces: the quorum was committed, then the bot waited for Slack (Retry-After) before granting;
 * meanwhile the request expired, and the late grant landed on the target for good. */
const target = new TargetDatabase();
let harness: BotHarness;
let login: string;
let readRole: string;
let rateLimit: FakeOutage | undefined;

/** Longer than the request lasts, so any Slack call made around the approval is answered only after the expiry. */
const RETRY_AFTER_SECONDS = 10;
const DURATION = '3s';
/** How long the target must stay clean once every notice is out: a grant still in flight would show up by then. */
const SETTLE_MS = 3_000;

beforeAll(async () => {
  // A short reconcile, as a long outage gives the production one (a minute) time to run: it ends overdue requests
  // however the bot got there.
  ({ harness, login, readRole } = await startE2eBot(target, undefined, { harness: { reconcileEveryMs: 1_000 } }));
});

afterAll(async () => {
  rateLimit?.lift();
  await harness?.stop();
  await target.dropAll();
});

describe('Slack rate-limiting an approval', () => {
  it('ends the request with nothing left on the target, and tells the thread and the channel once Slack is back', async () => {
    const { request } = await requestAccess(harness, `payments-db read ${DURATION} INC-101 approved while Slack is rate limited`);
    const messageTs = request.messageTs!;

    // From just before the click until after the expiry, Slack refuses every post and update.
    rateLimit = harness.slack.rateLimit(['chat.postMessage', 'chat.update'], RETRY_AFTER_SECONDS);
    const clicked = await harness.click(ActionIds.approve, APPROVER1, request);
    expect(clicked.status).toBe(200);

    const ended = await waitFor(
      async () => {
        const current = await harness.request(request.id);
        return isFinal(current.status) ? current : null;
      },
      `BG-${request.number} (${DURATION}) to end while Slack answers 429`,
      20_000,
    );
    // Expired, or rolled back had the grant been refused: either way an end that takes the access away.
    expect(['EXPIRED', 'FAILED']).toContain(ended.status);
    expect(Date.now()).toBeLessThan(ended.expiresAt!.getTime() + RETRY_AFTER_SECONDS * 1000);
    rateLimit.lift();

    // Slack is back: everything that was held back is delivered (at least once).
    const thread = () => deliveredThreadReplies(harness.slack, CHANNEL, messageTs);
    await waitFor(
      () => thread().some((call) => String(call.args.text).includes(`<@${APPROVER1}> approved`)),
      `the approval notice in BG-${request.number}'s thread once Slack is back`,
      30_000,
    );
    await waitFor(() => thread().some((call) => namesSummaryOf(call, request.number)), `the audit summary in BG-${request.number}'s thread`, 30_000);
    await waitFor(() => deliveredChannelSummaries(harness.slack, CHANNEL, request.number).length >= 1, `the audit summary of BG-${request.number} in ${CHANNEL}`, 30_000);
    await waitFor(
      () => {
        const last = harness.slack
          .deliveredCallsOf('chat.update')
          .filter((call) => call.args.ts === messageTs)
          .at(-1);
        return last && buttonValue(last.args.blocks ?? [], ActionIds.approve) === undefined && buttonValue(last.args.blocks ?? [], ActionIds.revokeNow) === undefined;
      },
      `the request message to show BG-${request.number} ended (no Approve or Revoke now button)`,
      30_000,
    );

    // Nothing was granted after the end, or whatever was is gone again, and the database agrees with the target.
    await holdsFor(
      async () => {
        const current = await harness.request(request.id);
        if (!isFinal(current.status)) return `BG-${request.number} is ${current.status} again`;
        if (current.grant && current.grant.status !== 'REVOKED') return `its grant row is ${current.grant.status} although the request is ${current.status}`;
        if (await target.hasRole(login, readRole)) return `${login} is a member of ${readRole} on the target although BG-${request.number} is ${current.status}`;
        return true;
      },
      `"no access outlives its request" (for ${SETTLE_MS} ms after every notice was delivered)`,
      SETTLE_MS,
    );
  }, 60_000);
});
