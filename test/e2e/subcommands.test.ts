import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { endLiveRequests, requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, APPROVER2, CHANNEL, GROUP_LEAD, OUTSIDER, REQUESTER } from './policy-fixture';

/** `/breakglass list|status|revoke|extend|audit|help` over signed HTTP, with visibility: the requester, the role's
 * approvers (named or through a user group) and admins see a request; nobody else learns it exists. */
const target = new TargetDatabase();
let harness: BotHarness;
let login: string;
const ADMIN = 'U0ADMIN';

beforeAll(async () => {
  ({ harness, login } = await startE2eBot(target));
  harness.slack.setUserGroup('S0SRELEADS', [GROUP_LEAD]);
});

// The tests ask for the same roles again and again: each starts without what an earlier one left waiting or active.
afterEach(() => endLiveRequests(harness));

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

interface Answer {
  text: string;
  blocks: unknown[];
  /** Given in the ack itself (argument errors), rather than later through the response_url. */
  inAck: boolean;
  response_type: string;
}

/** Sends `/breakglass <text>` as `userId` and returns the ephemeral answer, from the ack or the response_url. */
async function slash(userId: string, text: string): Promise<Answer> {
  const answers = harness.slack.callsOf('response_url').length;
  const response = await harness.sender.slashCommand({ userId, channelId: CHANNEL, text });
  expect(response.status).toBe(200);
  const acked = response.json();
  if (acked?.text) return { text: acked.text, blocks: acked.blocks ?? [], inAck: true, response_type: acked.response_type };
  const call = await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], `the answer to /breakglass ${text}`);
  expect(call.args.replace_original).toBe(false);
  return { text: call.args.text, blocks: call.args.blocks ?? [], inAck: false, response_type: call.args.response_type };
}

const everything = (answer: Answer) => `${answer.text}\n${JSON.stringify(answer.blocks)}`;
const human = (request: { number: number }) => `BG-${request.number}`;

async function activeRead(reason: string) {
  const { request } = await requestAccess(harness, `payments-db read 1h INC-1 ${reason}`);
  await harness.click(ActionIds.approve, APPROVER1, request);
  return statusBecomes(harness, request.id, 'ACTIVE');
}

describe('/breakglass list', () => {
  it('lists the active and pending requests each user may see, and nothing else', async () => {
    const pendingWrite = (await requestAccess(harness, 'payments-db write 30m INC-2 fix a payout')).request;
    const deploy = (await requestAccess(harness, 'deploy-console operator 1h - ship the hotfix')).request;
    // Denied before the same role is asked for again (and granted): one live request per requester and role.
    const denied = (await requestAccess(harness, 'payments-db read 30m INC-3 denied one')).request;
    await harness.click(ActionIds.deny, APPROVER1, denied);
    await statusBecomes(harness, denied.id, 'DENIED');
    const active = await activeRead('read the ledger');

    const listed = async (userId: string) => {
      const answer = await slash(userId, 'list');
      expect(answer.response_type).toBe('ephemeral');
      return everything(answer);
    };
    const ids = (text: string) => [pendingWrite, deploy, active, denied].filter((request) => new RegExp(`\\b${human(request)}\\b`).test(text)).map(human);

    expect(ids(await listed(REQUESTER))).toEqual([pendingWrite, deploy, active].map(human));
    expect(ids(await listed(ADMIN))).toEqual([pendingWrite, deploy, active].map(human));
    // APPROVER1 approves both resources; APPROVER2 and the S0SRELEADS group only payments-db.
    expect(ids(await listed(APPROVER1))).toEqual([pendingWrite, deploy, active].map(human));
    expect(ids(await listed(APPROVER2))).toEqual([pendingWrite, active].map(human));
    expect(ids(await listed(GROUP_LEAD))).toEqual([pendingWrite, active].map(human));
    const outsider = await listed(OUTSIDER);
    expect(ids(outsider)).toEqual([]);
    expect(outsider).toMatch(/No active or pending requests that you can see/);

    const requesterList = await listed(REQUESTER);
    expect(requesterList).toContain('waiting for approval (0 of 2)');
    expect(requesterList).toMatch(/:unlock: active, .+ left \(until <!date\^\d+/);
  });
});

describe('/breakglass status', () => {
  it('accepts BG-n, bg-n and n, and shows the request without its buttons', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-4 status check');
    for (const id of [human(request), human(request).toLowerCase(), String(request.number)]) {
      const answer = await slash(APPROVER2, `status ${id}`);
      expect(answer.response_type).toBe('ephemeral');
      expect(answer.text).toContain(`${human(request)}: <@${REQUESTER}> requests write on payments-db`);
      expect(everything(answer)).toContain('status check');
      expect(everything(answer)).toContain('Waiting for 2 more approvals');
      expect(everything(answer)).not.toContain(ActionIds.approve);
    }
  });

  it('answers a request the user may not see exactly like one that does not exist', async () => {
    const { request } = await requestAccess(harness, 'deploy-console operator 1h - hidden from APPROVER2');
    const hidden = await slash(APPROVER2, `status ${human(request)}`);
    expect(hidden.text).toBe(
      `:warning: I cannot find ${human(request)}, or you are not allowed to see it. A request is visible to its requester, the approvers of its role and Breakglass admins.`,
    );
    const missing = await slash(APPROVER2, 'status BG-999999');
    expect(missing.text).toBe(hidden.text.replace(human(request), 'BG-999999'));
    expect(everything(await slash(ADMIN, `status ${human(request)}`))).toContain('hidden from APPROVER2');
  });

  it('explains a missing or malformed id in the ack, with an example', async () => {
    const missing = await slash(REQUESTER, 'status');
    expect(missing.inAck).toBe(true);
    expect(missing.response_type).toBe('ephemeral');
    expect(missing.text).toMatch(/needs the id of a request[\s\S]*Example: `\/breakglass status BG-1042`/);
    const malformed = await slash(REQUESTER, 'status INC-4211');
    expect(malformed.text).toMatch(/`INC-4211` is not a request id/);
  });
});

describe('/breakglass revoke', () => {
  it('revokes active access for an approver of the role, after refusing someone who may not see it', async () => {
    const active = await activeRead('revoke me by command');

    const refused = await slash(OUTSIDER, `revoke ${human(active)}`);
    expect(refused.text).toMatch(/I cannot find BG-\d+, or you are not allowed to see it/);
    expect((await harness.request(active.id)).status).toBe('ACTIVE');

    const answer = await slash(APPROVER2, `revoke bg-${active.number}`);
    expect(answer.text).toBe(`Revoking ${human(active)} now; the audit summary follows in <#${CHANNEL}> when it is done.`);
    const revoked = await statusBecomes(harness, active.id, 'REVOKED');
    expect(revoked.endedBy).toBe(APPROVER2);
    expect(revoked.grant?.status).toBe('REVOKED');
    // No other grant of the login holds the role (each test ends what it started), so it is gone from the target.
    expect(await target.hasRole(login, target.name('read'))).toBe(false);

    const again = await slash(APPROVER2, `revoke ${human(active)}`);
    expect(again.text).toBe(':warning: This request is not active (it is revoked).');
  });

  it('refuses to revoke a request that is still pending', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-5 not yet approved');
    expect((await slash(REQUESTER, `revoke ${request.number}`)).text).toBe(':warning: This request is not active (it is pending).');
    expect((await harness.request(request.id)).status).toBe('PENDING');
  });
});

describe('/breakglass extend', () => {
  it.each([
    ['extend', /needs the id of a request and how much longer/],
    ['extend BG-1', /needs how much longer/],
    ['extend BG-1 soon', /`soon` is not a duration/],
    ['extend soon 30m', /`soon` is not a request id/],
    ['extend BG-1 30m now', /one duration, nothing more/],
  ])('explains %j in the ack with an example, before any lookup', async (text, problem) => {
    const answer = await slash(REQUESTER, text);
    expect(answer.inAck).toBe(true);
    expect(answer.text).toMatch(problem);
    expect(answer.text).toContain('Example: `/breakglass extend BG-1042 30m`');
  });

  it("hands a valid one to the extension service and shows the service's answer", async () => {
    // A pending request: any extension service refuses it and changes nothing, so asking the service directly
    // afterwards must give the very answer the command showed.
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-8 needs more time');
    const answer = await slash(REQUESTER, `extend ${human(request)} 30m`);
    const direct = await harness.bot.service.requestExtension(request.id, REQUESTER, '30m');
    expect(answer.text).toBe(direct.ok ? direct.message : `:warning: ${direct.message}`);
    expect(answer.text).not.toMatch(/not allowed to see it|Usage/);
  });

  it('does not reach the service for a request the user may not see', async () => {
    const active = await activeRead('hidden extension');
    const answer = await slash(OUTSIDER, `extend ${human(active)} 30m`);
    expect(answer.text).toMatch(/I cannot find BG-\d+, or you are not allowed to see it/);
    expect((await harness.request(active.id)).expiresAt).toEqual(active.expiresAt);
  });
});

describe('/breakglass audit', () => {
  it("shows the request's timeline with times and actors, to those who may see it", async () => {
    const { request } = await requestAccess(harness, 'payments-db write 30m INC-6 the full story');
    await harness.click(ActionIds.approve, APPROVER1, request);
    // Clicks are acked first and worked on after (the follow-up gate): the order below is the order recorded.
    await waitFor(async () => (await harness.request(request.id)).approvals.length === 1, 'the first approval');
    await harness.click(ActionIds.approve, GROUP_LEAD, request);
    await statusBecomes(harness, request.id, 'ACTIVE');
    await slash(REQUESTER, `revoke ${human(request)}`);
    await statusBecomes(harness, request.id, 'REVOKED');

    const answer = await slash(GROUP_LEAD, `audit ${human(request)}`);
    expect(answer.text).toBe(`Timeline of ${human(request)}: 7 events, now revoked`);
    const timeline = everything(answer);
    const expectedInOrder = [
      `<@${REQUESTER}> requested \`write\` on \`payments-db\` for 30m (ticket \`INC-6\`)`,
      `<@${APPROVER1}> approved (1 of 2)`,
      `<@${GROUP_LEAD}> approved (2 of 2)`,
      'Enough approvals; access until',
      `Granted \`${(await harness.request(request.id)).grantName}\` to \`${login}\` and verified on the target`,
      `<@${REQUESTER}> asked to revoke the access now`,
      'Access revoked early and verified gone',
    ];
    let position = -1;
    for (const line of expectedInOrder) {
      const found = timeline.indexOf(line, position + 1);
      expect({ line, found: found > position }).toEqual({ line, found: true });
      position = found;
    }
    expect(timeline).toMatch(/<!date\^\d+\^/);

    expect((await slash(OUTSIDER, `audit ${human(request)}`)).text).toMatch(/I cannot find BG-\d+, or you are not allowed to see it/);
  });
});

describe('/breakglass help and unknown subcommands', () => {
  it('lists the subcommands in help', async () => {
    const answer = await slash(REQUESTER, 'help');
    for (const usage of ['/breakglass list', '/breakglass status <id>', '/breakglass revoke <id>', '/breakglass extend <id> <duration>', '/breakglass audit <id>']) {
      expect(answer.text).toContain(`\`${usage}\``);
    }
    expect(answer.text).toContain('Home');
  });

  it('answers an unknown subcommand with what it could have been, and records nothing', async () => {
    const before = await harness.db.accessRequest.count();
    const answer = await slash(REQUESTER, 'lsit');
    expect(answer.inAck).toBe(true);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toContain('`lsit` is not a command');
    expect(answer.text).toContain('`/breakglass list`');
    expect(await harness.db.accessRequest.count()).toBe(before);
  });
});
