import { temporaryLoginName } from '../../src/providers/postgres-provider';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import type { FakeOutage } from '../support/fake-slack-api';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { isFinal, POSTING_METHODS } from './commit-first-helpers';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, REQUESTER } from './policy-fixture';

/** Issue 10: taking access away never waits for Slack. Revoke now, I'm done and the roll-back of a grant that
 * cannot stand all revoke on the target at once while Slack answers every post, update and DM with 429; the
 * notices follow whenever Slack takes them (before the outbox, each first waited out Retry-After for its thread
 * notice and only then queued the revocation). */
const target = new TargetDatabase();
const webhook = new WebhookReceiver('commit-first-revoke-secret');
let harness: BotHarness | undefined;
let rateLimit: FakeOutage | undefined;
/** Roles the bot creates on the target (temporary logins) that a failing test may leave behind. */
const leftovers: string[] = [];

/** What Slack asks the bot to wait. */
const RETRY_AFTER_SECONDS = 20;
/** "At once": a revocation takes well under a second; this leaves room for a loaded CI machine and a runner's
 * polling, and is still far below Retry-After. */
const PROMPTLY_MS = 6_000;
const RATE_LIMITED = `while Slack answers ${POSTING_METHODS.join(', ')} with 429 (Retry-After ${RETRY_AFTER_SECONDS} s)`;

beforeAll(() => webhook.start());

afterEach(async () => {
  rateLimit?.lift();
  rateLimit = undefined;
  webhook.onHook = null;
  webhook.hideGrantsOf.clear();
  await harness?.stop();
  harness = undefined;
  for (const role of leftovers.splice(0)) await target.query(`DROP ROLE IF EXISTS "${role}"`);
  await target.dropAll();
});

afterAll(() => webhook.stop());

async function start() {
  const tempRead = target.name('temp_read');
  const started = await startE2eBot(target, webhook, {
    policy: {
      extraResources: `
  - id: payments-temp
    provider: { type: postgres, url: "${target.url}", mode: temporary-login }
    approvers: [${APPROVER1}]
    roles: [ { id: read, grant: ${tempRead}, approvals: 1, maxDuration: 1h, requireTicket: false } ]`,
    },
  });
  // Needed only when a temporary login is granted; the policy is read at start and names it already.
  await target.createRole('temp_read', { login: false });
  harness = started.harness;
  return started;
}

function rateLimitSlack(): void {
  rateLimit = harness!.slack.rateLimit(POSTING_METHODS, RETRY_AFTER_SECONDS);
}

/** An ACTIVE one-hour grant of the read role, with the granted notices already out (Slack healthy until now). */
async function activeRead(bot: BotHarness, text: string) {
  const { request } = await requestAccess(bot, text);
  await bot.click(ActionIds.approve, APPROVER1, request);
  const active = await statusBecomes(bot, request.id, 'ACTIVE');
  await bot.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && String(args.text).includes('Granted'));
  return active;
}

/** `gone` holds and the request reaches `status`, both within PROMPTLY_MS from now. */
async function endsPromptly(bot: BotHarness, requestId: string, status: string, gone: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + PROMPTLY_MS;
  await waitFor(gone, `${what} to be gone from the target within ${PROMPTLY_MS} ms ${RATE_LIMITED}`, Math.max(0, deadline - Date.now()));
  const ended = await waitFor(
    async () => {
      const current = await bot.request(requestId);
      return isFinal(current.status) ? current : null;
    },
    `the request to end (${status}) within ${PROMPTLY_MS} ms ${RATE_LIMITED}`,
    Math.max(1, deadline - Date.now()),
  );
  expect(ended.status).toBe(status);
  // The database agrees with the target.
  if (ended.grant) expect(ended.grant.status).toBe('REVOKED');
  return ended;
}

describe('taking access away while Slack rate-limits the bot', () => {
  it('Revoke now revokes on the target at once', async () => {
    const { harness: bot, login, readRole } = await start();
    const active = await activeRead(bot, 'payments-db read 1h INC-201 revoke now under a rate limit');
    expect(await target.hasRole(login, readRole)).toBe(true);

    rateLimitSlack();
    const clicked = await bot.click(ActionIds.revokeNow, REQUESTER, active);
    expect(clicked.status).toBe(200);
    await endsPromptly(bot, active.id, 'REVOKED', async () => !(await target.hasRole(login, readRole)), `${login}'s membership of ${readRole}`);
  });

  it("I'm done (from the reminder DM) revokes on the target at once", async () => {
    const { harness: bot, login, readRole } = await start();
    const active = await activeRead(bot, "payments-db read 1h INC-202 I'm done under a rate limit");
    expect(await target.hasRole(login, readRole)).toBe(true);

    rateLimitSlack();
    const clicked = await bot.sender.blockAction({ userId: REQUESTER, channelId: `D${REQUESTER}`, actionId: ActionIds.finishAccess, value: active.id });
    expect(clicked.status).toBe(200);
    await endsPromptly(bot, active.id, 'REVOKED', async () => !(await target.hasRole(login, readRole)), `${login}'s membership of ${readRole}`);
  });

  it('rolls back a grant the target does not confirm, at once, while Slack rate-limits the thread notice', async () => {
    const { harness: bot, login } = await start();
    const { request } = await requestAccess(bot, 'deploy-console operator 1h - the target will not confirm the grant');
    const key = `${login}:deploy-console:operator`;
    // The target takes the grant but verify says it is not there; Slack starts answering 429 as the grant lands.
    webhook.hideGrantsOf.add(login);
    webhook.onHook = (hook) => {
      if (hook.action === 'grant' && hook.payload.requestId === request.id && !rateLimit) rateLimitSlack();
    };
    await bot.click(ActionIds.approve, APPROVER1, request);
    await waitFor(() => webhook.received.some((hook) => hook.action === 'grant' && hook.payload.requestId === request.id), 'the grant to reach the target');

    await endsPromptly(bot, request.id, 'FAILED', async () => !webhook.granted.has(key), `the grant of deploy-console operator to ${login}`);
    expect(webhook.received.some((hook) => hook.action === 'revoke' && hook.payload.requestId === request.id)).toBe(true);
  });

  it('rolls back a temporary login whose DM cannot be delivered, at once, while Slack rate-limits the thread notice', async () => {
    const { harness: bot, login } = await start();
    const { request } = await requestAccess(bot, 'payments-temp read 1h - the DM will not get through');
    const tempLogin = temporaryLoginName(request.number, login);
    leftovers.push(tempLogin);
    const exists = async () => (await target.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [tempLogin])).length > 0;
    // The requester cannot be messaged (the DM fails for good), and from that moment Slack rate-limits the rest.
    const dmRefused = bot.slack.outage(['conversations.open'], (args) => {
      if (args.users !== REQUESTER) return undefined;
      if (!rateLimit) rateLimit = bot.slack.rateLimit(['chat.postMessage', 'chat.update'], RETRY_AFTER_SECONDS);
      return { ok: false, error: 'user_disabled' };
    });
    try {
      await bot.click(ActionIds.approve, APPROVER1, request);
      await bot.slack.waitForCall('conversations.open', (args) => args.users === REQUESTER, 10_000);

      await endsPromptly(bot, request.id, 'FAILED', async () => !(await exists()), `the temporary login ${tempLogin}`);
    } finally {
      dmRefused.lift();
    }
  });
});
