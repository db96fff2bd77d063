import { ActionIds, ExtendModal } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue, endLiveRequests, ephemeralFor, outboxDrained, requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, APPROVER2, CHANNEL, REQUESTER, REQUESTER2 } from './policy-fixture';

/**
 * Breakglass is a security control: could one person have approved their own access? Accounts whose logins on the
 * targets are equal are one person; logins come from `identities` or from an e-mail address at a listed domain;
 * only full members request or approve; requests are taken only in the channels the policy names, and at most
 * `requestsPerHour` of them per person.
 */
const target = new TargetDatabase();
let harness: BotHarness;
let login: string;
let readRole: string;
/** The requester's e-mail-derived login (a real role on the target, so the grant works). */
let daveLogin: string;

/** Two more approver accounts of one person, "bob" (two identities entries). */
const BOB = 'U0BOB';
const BOB_ADMIN = 'U0BOBADMIN';
/** Two accounts whose e-mail addresses (at the listed domain) have one local part. */
const DAVE = 'U0DAVE';
const DAVE_ADMIN = 'U0DAVEADMIN';
const MALLORY = 'U0MALLORY';
const GUEST = 'U0GUEST';
const STRANGER = 'U0STRANGER';
const DEACTIVATED = 'U0DEACTIVATED';
const BOT_USER = 'U0BOTUSER';
const RATE = 'U0RATE';
const RACE = 'U0RACE';
const REQUESTS_PER_HOUR = 3;
const { blockId: DURATION_BLOCK, actionId: DURATION_ACTION } = ExtendModal.blocks.duration;

beforeAll(async () => {
  await target.connect();
  daveLogin = await target.createRole('dave', { login: true });
  ({ harness, login, readRole } = await startE2eBot(target, undefined, {
    policy: {
      identities: { [BOB]: 'bob', [BOB_ADMIN]: 'bob' },
      requestsPerHour: REQUESTS_PER_HOUR,
      defaults: `requestChannels: [${CHANNEL}]`,
      extraResources: `
  - id: ops-db
    provider: { type: postgres, url: "${target.url}" }
    approvers: [U0APPROVER1, U0APPROVER2, S0SRELEADS]
    roles:
      - { id: approved, grant: ${target.name('write')}, approvals: 1, maxDuration: 1h, extension: { approvals: 2, maxTotal: 2h } }`,
    },
  }));
  // REQUESTER2 is mapped to the requester's own login (their admin account, say), and is an approver too.
  harness.slack.setUserGroup('S0SRELEADS', [REQUESTER2, BOB, BOB_ADMIN, DAVE_ADMIN, MALLORY, GUEST, STRANGER, DEACTIVATED, BOT_USER]);
  harness.slack.setUser(DAVE, { profile: { email: `${daveLogin}@example.com` } });
  harness.slack.setUser(DAVE_ADMIN, { profile: { email: `${daveLogin.toUpperCase()}@Example.COM` } });
  harness.slack.setUser(MALLORY, { profile: { email: `${daveLogin}@evil.test` } });
  harness.slack.setUser(GUEST, { is_restricted: true });
  harness.slack.setUser(STRANGER, { is_stranger: true });
  harness.slack.setUser(DEACTIVATED, { deleted: true });
  harness.slack.setUser(BOT_USER, { is_bot: true });
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

/** Sends `/breakglass <text>` as `userId` in `channelId` and returns the ephemeral answer on the response_url. */
async function answerTo(userId: string, text: string, channelId = CHANNEL): Promise<string> {
  const answers = harness.slack.callsOf('response_url').length;
  const response = await harness.sender.slashCommand({ userId, channelId, text });
  expect(response.status).toBe(200);
  const call = await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], 'an answer on the response_url');
  expect(call.args.response_type).toBe('ephemeral');
  return call.args.text;
}

/** Clicks Approve on the request as `userId` and returns the ephemeral answer. */
async function approveAs(userId: string, request: { id: string; channelId: string; messageTs: string | null }): Promise<string> {
  const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
  await harness.click(ActionIds.approve, userId, request);
  return ephemeralFor(harness, userId, ephemerals);
}

const requestsOf = (userId: string) => harness.db.accessRequest.count({ where: { requesterId: userId } });

describe('same login, same person', () => {
  afterEach(() => endLiveRequests(harness));

  it('refuses an account mapped to the requester’s login, counts two accounts of one approver once, and completes with distinct people', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-1 payout worker stuck');
    expect(request.requiredApprovals).toBe(2);

    // The requester's second account (identities: the same login).
    expect(await approveAs(REQUESTER2, request)).toBe(
      `Your account and the requester's have the same login on the targets (\`${login}\`), so Breakglass counts them as one person: you cannot approve this request; another approver has to.`,
    );
    expect(await harness.request(request.id)).toMatchObject({ status: 'PENDING', approvalCount: 0, approvals: [] });

    // Bob approves; his second account is the same person, and does not count again.
    expect(await approveAs(BOB, request)).toMatch(/You approved BG-\d+; 1 more needed/);
    expect(await approveAs(BOB_ADMIN, request)).toBe(
      `<@${BOB}> already approved this request, and has the same login on the targets as you (\`bob\`), so Breakglass counts you as one person: each person counts once; another approver has to.`,
    );
    const waiting = await harness.request(request.id);
    expect(waiting).toMatchObject({ status: 'PENDING', approvalCount: 1 });
    expect(waiting.approvals.map((approval) => [approval.approverId, approval.approverLogin])).toEqual([[BOB, 'bob']]);

    // A third, distinct person completes it.
    expect(await approveAs(APPROVER2, request)).toMatch(/that completes the approvals/);
    await statusBecomes(harness, request.id, 'ACTIVE');
    const done = await harness.request(request.id);
    expect(done.approvals.map((approval) => approval.approverId).sort()).toEqual([APPROVER2, BOB].sort());
    expect(done.approvals.find((approval) => approval.approverId === APPROVER2)?.approverLogin).toBe('u0approver2');
  });

  it('counts one person once when both accounts click Approve at the same moment', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-10 two clicks at once', DAVE);
    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await Promise.all([BOB, BOB_ADMIN].map((userId) => harness.click(ActionIds.approve, userId, request)));
    const answers = await Promise.all([BOB, BOB_ADMIN].map((userId) => ephemeralFor(harness, userId, ephemerals)));
    expect(answers.filter((answer) => /You approved BG-\d+; 1 more needed/.test(answer))).toHaveLength(1);
    expect(answers.filter((answer) => answer.includes('so Breakglass counts you as one person'))).toHaveLength(1);
    const current = await harness.request(request.id);
    expect(current).toMatchObject({ status: 'PENDING', approvalCount: 1 });
    expect(current.approvals).toHaveLength(1);
    await endLiveRequests(harness, DAVE);
  });

  it('refuses the same person on an extension too', async () => {
    const { request } = await requestAccess(harness, 'ops-db approved 30m INC-2 long migration');
    expect(await approveAs(APPROVER1, request)).toMatch(/completes the approvals/);
    const active = await statusBecomes(harness, request.id, 'ACTIVE');
    await outboxDrained(harness);

    const posts = harness.slack.callsOf('chat.postMessage').length;
    const submitted = await harness.sender.viewSubmission({
      userId: REQUESTER,
      callbackId: ExtendModal.callbackId,
      privateMetadata: active.id,
      values: { [DURATION_BLOCK]: { [DURATION_ACTION]: { type: 'plain_text_input', value: '15m' } } },
    });
    expect(submitted.status).toBe(200);
    const message = await waitFor(
      () =>
        harness.slack
          .callsOf('chat.postMessage')
          .slice(posts)
          .find((call) => buttonValue(call.args.blocks ?? [], ActionIds.approveExtension)),
      'the extension request in the thread',
    );
    const extensionId = buttonValue(message.args.blocks, ActionIds.approveExtension)!;
    await waitFor(() => harness.db.extension.findFirst({ where: { id: extensionId, messageTs: { not: null } } }), 'the extension message ts');
    const approveExtension = async (userId: string) => {
      const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
      await harness.sender.blockAction({ userId, channelId: active.channelId, actionId: ActionIds.approveExtension, value: extensionId });
      return ephemeralFor(harness, userId, ephemerals);
    };

    expect(await approveExtension(REQUESTER2)).toContain('you cannot approve more time on this access');
    expect(await approveExtension(BOB)).toMatch(/1 more needed|You approved/);
    expect(await approveExtension(BOB_ADMIN)).toContain(`<@${BOB}> already approved this extension`);
    const extension = await harness.db.extension.findUniqueOrThrow({ where: { id: extensionId }, include: { approvals: true } });
    expect(extension).toMatchObject({ status: 'PENDING', approvalCount: 1 });
    expect(extension.approvals.map((approval) => approval.approverId)).toEqual([BOB]);
    expect((await harness.request(active.id)).expiresAt).toEqual(active.expiresAt);

    await approveExtension(APPROVER2);
    await waitFor(async () => (await harness.db.extension.findUniqueOrThrow({ where: { id: extensionId } })).status === 'APPLIED', 'the extension applied');
  });
});

describe('logins derived from e-mail', () => {
  afterEach(() => endLiveRequests(harness, DAVE));

  it('treats two addresses with one local part at a listed domain as one person', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 30m INC-3 need to look at payouts', DAVE);
    expect(request.requesterLogin).toBe(daveLogin);

    expect(await approveAs(DAVE_ADMIN, request)).toContain(`same login on the targets (\`${daveLogin}\`)`);
    expect(await harness.request(request.id)).toMatchObject({ status: 'PENDING', approvalCount: 0 });

    expect(await approveAs(APPROVER1, request)).toMatch(/completes the approvals/);
    await statusBecomes(harness, request.id, 'ACTIVE');
    expect(await target.hasRole(daveLogin, readRole)).toBe(true);
  });

  it('derives no login from an address at a domain the policy does not list, and points to identities', async () => {
    // Mallory's address has Dave's local part, at another domain: it gives no login at all.
    const answer = await answerTo(MALLORY, 'payments-db read 30m INC-4 let me in');
    expect(answer).toBe(
      ':warning: I do not know your login on the target systems: I cannot take it from your Slack e-mail address, because its domain is not one the policy derives logins from (`loginEmailDomains`). To request, ask a Breakglass admin to add you under `identities` in the policy.',
    );
    expect(await requestsOf(MALLORY)).toBe(0);
  });
});

describe('only full members request and approve', () => {
  // One request waits for all of them: a refused approval changes nothing. (Asked by the requester's second account,
  // so the requester stays within the hour's requests.)
  let waiting: Awaited<ReturnType<typeof requestAccess>>['request'];
  beforeAll(async () => {
    ({ request: waiting } = await requestAccess(harness, 'payments-db read 30m INC-6 need to look', REQUESTER2));
  });
  afterAll(() => endLiveRequests(harness, REQUESTER2));

  it.each([
    [GUEST, 'a guest account'],
    [STRANGER, 'an account from another organisation (Slack Connect)'],
    [DEACTIVATED, 'a deactivated account'],
    [BOT_USER, 'a bot or app account'],
  ])('refuses %s as requester and as approver', async (userId, words) => {
    expect(await answerTo(userId, 'payments-db read 30m INC-5 just looking')).toBe(
      `:warning: Breakglass does not let ${words} request access: only full members of the workspace may. Nothing was changed.`,
    );
    expect(await requestsOf(userId)).toBe(0);

    expect(await approveAs(userId, waiting)).toBe(`Breakglass does not let ${words} approve access: only full members of the workspace may. Nothing was changed.`);
    expect(await harness.request(waiting.id)).toMatchObject({ status: 'PENDING', approvalCount: 0, approvals: [] });
  });
});

describe('where requests go', () => {
  const hint = 'not taken in a direct message: ask in <#C0INCIDENT>, where the approvers and the incident can see them.';

  it('refuses a request typed in a DM with the bot or a side channel, saying where to ask', async () => {
    expect(await answerTo(REQUESTER, 'payments-db read 30m INC-7 quiet please', `D${REQUESTER}`)).toBe(`:warning: Requests for \`payments-db\` / \`read\` are ${hint}`);
    expect(await answerTo(REQUESTER, 'payments-db read 30m INC-7 quiet please', 'C0SIDE')).toContain('not taken in this channel: ask in <#C0INCIDENT>');
    expect(await requestsOf(REQUESTER)).toBe(await harness.db.accessRequest.count({ where: { requesterId: REQUESTER, channelId: CHANNEL } }));
    expect(await harness.db.accessRequest.count({ where: { channelId: { not: CHANNEL } } })).toBe(0);
  });

  it('answers /breakglass in a DM with where to ask instead of opening the form', async () => {
    const opened = harness.slack.callsOf('views.open').length;
    expect(await answerTo(REQUESTER, '', `D${REQUESTER}`)).toBe(`Your requests are ${hint}`);
    expect(harness.slack.callsOf('views.open')).toHaveLength(opened);

    // In the request channel the form opens as before.
    const response = await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: '' });
    expect(response.status).toBe(200);
    await waitFor(() => harness.slack.callsOf('views.open').length > opened, 'the request form');
  });
});

describe('requests per person per hour', () => {
  it(`refuses the ${REQUESTS_PER_HOUR + 1}th request of the hour, saying when to ask again`, async () => {
    for (let i = 0; i < REQUESTS_PER_HOUR; i++) {
      const { request } = await requestAccess(harness, `payments-db read 30m INC-8 attempt ${i}`, RATE);
      await harness.bot.service.deny(request.id, RATE); // withdrawn requests count too
    }
    const first = await harness.db.accessRequest.findFirstOrThrow({ where: { requesterId: RATE }, orderBy: { number: 'asc' } });
    const again = new Date(first.createdAt.getTime() + 3_600_000).toISOString().slice(11, 16);
    expect(await answerTo(RATE, 'payments-db read 30m INC-8 once more')).toBe(
      `:warning: You have made ${REQUESTS_PER_HOUR} requests in the last hour, and the policy allows one person ${REQUESTS_PER_HOUR} (\`defaults.requestsPerHour\`). You can ask again at ${again} UTC; nothing was requested.`,
    );
    expect(await requestsOf(RATE)).toBe(REQUESTS_PER_HOUR);
  });

  it('holds when requests race: of three at once with room for two, one is refused', async () => {
    await requestAccess(harness, 'payments-db read 30m INC-9 first', RACE);
    const answers = harness.slack.callsOf('response_url').length;
    const texts = ['payments-db write 30m INC-9 second', 'payments-db broken 30m INC-9 third', 'ops-db approved 30m INC-9 fourth'];
    await Promise.all(texts.map((text) => harness.sender.slashCommand({ userId: RACE, channelId: CHANNEL, text })));
    const refusal = await waitFor(
      () =>
        harness.slack
          .callsOf('response_url')
          .slice(answers)
          .find((call) => String(call.args.text).includes('requests in the last hour')),
      'the rate-limit refusal',
    );
    expect(refusal.args.text).toContain(`You have made ${REQUESTS_PER_HOUR} requests in the last hour`);
    await outboxDrained(harness);
    expect(await requestsOf(RACE)).toBe(REQUESTS_PER_HOUR);
    await endLiveRequests(harness, RACE);
  });
});
