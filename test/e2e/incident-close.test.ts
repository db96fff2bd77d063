import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue, ephemeralFor, outboxDrained, requestAccess, statusBecomes, textOf, startE2eBot } from './e2e-helpers';
import { APPROVER1, APPROVER2, CHANNEL, GROUP_LEAD, REQUESTER, REQUESTER2 } from './policy-fixture';

/**
 * Grants that end with their incident (issue 12.3): the incident channel archived, or `/breakglass incident close`
 * run in it, ends the live grants requested there as revoked early, closes what waits for approval, and refuses
 * extensions; an archived channel's summaries go to the security channel and the requesters' DMs.
 */
const target = new TargetDatabase();
let harness: BotHarness;
let login: string;
let readRole: string;
let writeRole: string;
let keepRole: string;

const SECURITY = 'C0SECURITY';
const WAR_ROOM = 'C0WARROOM';
const ARCHIVER = 'U0ARCHIVER';

beforeAll(async () => {
  await target.connect();
  keepRole = await target.createRole('keep', { login: false });
  ({ harness, login, readRole, writeRole } = await startE2eBot(target, undefined, {
    policy: {
      extra: `alerts: { securityChannel: ${SECURITY} }`,
      extraResources: `
  - id: ops-db
    provider: { type: postgres, url: "${target.url}" }
    approvers: [U0APPROVER1]
    endWithIncident: false
    roles:
      - { id: keep, grant: ${keepRole}, approvals: 1, maxDuration: 2h }`,
    },
    harness: { captureLogs: true },
  }));
  harness.slack.setUserGroup('S0SRELEADS', [GROUP_LEAD]);
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

async function requestIn(channelId: string, userId: string, text: string) {
  return (await requestAccess(harness, text, userId, channelId)).request;
}

async function grantedIn(channelId: string, userId: string, text: string, approvers: string[]) {
  const request = await requestIn(channelId, userId, text);
  for (const approver of approvers) await harness.click(ActionIds.approve, approver, request);
  return statusBecomes(harness, request.id, 'ACTIVE');
}

/** `/breakglass <text>` as `userId` in `channelId`; the ephemeral answer on the response_url (text and blocks). */
async function answerTo(userId: string, text: string, channelId: string): Promise<Record<string, any>> {
  const answers = harness.slack.callsOf('response_url').length;
  const response = await harness.sender.slashCommand({ userId, channelId, text });
  expect(response.status).toBe(200);
  const call = await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], 'an answer on the response_url');
  expect(call.args.response_type).toBe('ephemeral');
  return call.args;
}

const archiveEvent = (eventId: string) => harness.sender.eventCallback({ eventId, event: { type: 'channel_archive', channel: CHANNEL, user: ARCHIVER } });

const counts = async () => ({
  audit: await harness.db.auditEvent.count(),
  effects: await harness.db.effect.count(),
  closures: await harness.db.incidentClosure.count(),
});

describe('the incident channel archived', () => {
  it('ends its live grants at once, closes what waits, and sends the summaries to the security channel and the requesters, never the archived channel', async () => {
    const read = await grantedIn(CHANNEL, REQUESTER, 'payments-db read 2h INC-1 payout stuck', [APPROVER1]);
    const write = await grantedIn(CHANNEL, REQUESTER2, 'payments-db write 1h INC-1 requeue payouts', [APPROVER1, APPROVER2]);
    const keep = await grantedIn(CHANNEL, REQUESTER, 'ops-db keep 1h INC-1 outlives the incident', [APPROVER1]);
    const pending = await requestIn(CHANNEL, REQUESTER, 'payments-db broken 30m INC-1 never approved');
    expect(await target.hasRole(login, readRole)).toBe(true);
    expect(await target.hasRole(login, writeRole)).toBe(true);
    await outboxDrained(harness);

    harness.slack.archiveChannel(CHANNEL);
    const before = harness.slack.callsOf('chat.postMessage').length;
    expect((await archiveEvent('EvArchive1')).status).toBe(200);

    const revoked = await statusBecomes(harness, read.id, 'REVOKED');
    await statusBecomes(harness, write.id, 'REVOKED');
    await statusBecomes(harness, pending.id, 'TIMED_OUT');
    expect(revoked).toMatchObject({ endReason: 'revoked', endedBy: ARCHIVER });
    // Nothing left on the target's roles; the role that does not end with its incident stays.
    expect(await target.hasRole(login, readRole)).toBe(false);
    expect(await target.hasRole(login, writeRole)).toBe(false);
    expect((await harness.request(keep.id)).status).toBe('ACTIVE');
    expect(await target.hasRole(login, keepRole)).toBe(true);

    expect(await harness.auditActions(read.id)).toEqual(expect.arrayContaining(['REVOKE_REQUESTED', 'INCIDENT_CLOSED', 'REVOKED']));
    const closed = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: write.id, action: 'INCIDENT_CLOSED' } });
    expect(closed).toMatchObject({ actor: ARCHIVER, details: { channelId: CHANNEL, via: 'archive', outcome: 'revoked' } });
    expect(await harness.auditActions(pending.id)).toEqual(expect.arrayContaining(['INCIDENT_CLOSED', 'TIMED_OUT']));

    const humanIds = [read, write].map((request) => `BG-${request.number}`);
    const summaryIn = (channel: string, humanId: string) =>
      harness.slack
        .deliveredCallsOf('chat.postMessage')
        .some((call) => call.args.channel === channel && textOf(call.args).includes('Audit summary') && textOf(call.args).includes(humanId));
    await waitFor(() => humanIds.every((humanId) => summaryIn(SECURITY, humanId)), 'both summaries in the security channel');
    await waitFor(() => summaryIn(`D${REQUESTER}`, humanIds[0]) && summaryIn(`D${REQUESTER2}`, humanIds[1]), "each summary in its requester's DM");
    // The closed pending request is told to its requester by DM, as the channel cannot take it.
    await waitFor(
      () =>
        harness.slack
          .deliveredCallsOf('chat.postMessage')
          .some((call) => call.args.channel === `D${REQUESTER}` && textOf(call.args).includes(`BG-${pending.number} is closed without a decision`)),
      'the closed request told by DM',
    );
    await outboxDrained(harness);
    const sinceArchive = harness.slack.callsOf('chat.postMessage').slice(before);
    expect(sinceArchive.filter((call) => call.args.channel === CHANNEL && call.answer?.ok)).toEqual([]);
    // The channel summary never even tried the archived channel: Breakglass knew it was archived.
    expect(sinceArchive.filter((call) => call.args.channel === CHANNEL && !call.args.thread_ts)).toEqual([]);
  });

  it('does nothing more when Slack delivers the event again', async () => {
    const before = await counts();
    expect(before.closures).toBe(1);
    expect((await archiveEvent('EvArchive1')).status).toBe(200);
    await waitFor(() => harness.logs.some((line) => line.includes('incident close: nothing to close') && line.includes(CHANNEL)), 'the redelivered event handled');
    expect(await counts()).toEqual(before);
  });

  it('takes messages in the channel again once it is unarchived; its new requests are a new incident', async () => {
    harness.slack.unarchiveChannel(CHANNEL);
    await harness.sender.eventCallback({ event: { type: 'channel_unarchive', channel: CHANNEL, user: ARCHIVER } });
    await waitFor(async () => (await harness.db.incidentClosure.count({ where: { channelId: CHANNEL, via: 'unarchive' } })) === 1, 'the unarchive recorded');
    const again = await grantedIn(CHANNEL, REQUESTER, 'payments-db read 2h INC-3 after the unarchive', [APPROVER1]);
    const extended = await answerTo(REQUESTER, `extend BG-${again.number} 30m`, CHANNEL);
    expect(extended.text).not.toContain('has been closed');
    await harness.bot.service.revokeNow(again.id, REQUESTER);
    await statusBecomes(harness, again.id, 'REVOKED');
    await waitFor(
      () =>
        harness.slack
          .deliveredCallsOf('chat.postMessage')
          .some((call) => call.args.channel === CHANNEL && !call.args.thread_ts && textOf(call.args).includes(`Audit summary BG-${again.number}`)),
      'the summary in the unarchived channel',
    );
    await outboxDrained(harness);
  });

  it('changes nothing for a channel with nothing live', async () => {
    const before = await counts();
    await harness.sender.eventCallback({ event: { type: 'group_archive', channel: 'G0QUIET', user: ARCHIVER } });
    await waitFor(() => harness.logs.some((line) => line.includes('incident close: nothing to close') && line.includes('G0QUIET')), 'the event handled');
    expect(await counts()).toEqual(before);
  });
});

describe('/breakglass incident close', () => {
  let mine: Awaited<ReturnType<typeof grantedIn>>;
  let theirs: Awaited<ReturnType<typeof grantedIn>>;

  it('lists what it will end, ends on Confirm only what the person may end, and refuses extensions afterwards', async () => {
    mine = await grantedIn(WAR_ROOM, REQUESTER, 'payments-db read 2h INC-2 second incident', [APPROVER1]);
    theirs = await grantedIn(WAR_ROOM, REQUESTER2, 'payments-db write 1h INC-2 second incident', [APPROVER1, APPROVER2]);
    await outboxDrained(harness);

    const preview = await answerTo(REQUESTER, 'incident close', WAR_ROOM);
    const listed = textOf(preview);
    expect(listed).toContain('Access that ends now');
    expect(listed).toMatch(new RegExp(`Access that ends now\\*\\\\n• BG-${mine.number}:`));
    expect(listed).toMatch(new RegExp(`Not yours to end[^*]*\\*\\\\n• BG-${theirs.number}:`));
    const confirm = buttonValue(preview.blocks, ActionIds.confirmIncidentClose);
    expect(confirm).toBeDefined();
    // Listing changes nothing.
    expect((await harness.request(mine.id)).status).toBe('ACTIVE');

    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.sender.blockAction({ userId: REQUESTER, channelId: WAR_ROOM, actionId: ActionIds.confirmIncidentClose, value: confirm! });
    const answer = await ephemeralFor(harness, REQUESTER, ephemerals);
    expect(answer).toContain(`Incident closed in <#${WAR_ROOM}>: 1 request ends (BG-${mine.number})`);
    expect(answer).toContain(`Not yours to end, left running (no extensions): BG-${theirs.number}`);

    await statusBecomes(harness, mine.id, 'REVOKED');
    expect(await target.hasRole(login, readRole)).toBe(false);
    expect((await harness.request(theirs.id)).status).toBe('ACTIVE');
    expect(await target.hasRole(login, writeRole)).toBe(true);
    const closed = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: mine.id, action: 'INCIDENT_CLOSED' } });
    expect(closed).toMatchObject({ actor: REQUESTER, details: { channelId: WAR_ROOM, via: 'command', outcome: 'revoked' } });
    // The channel is open: its summary goes there as usual.
    await waitFor(
      () =>
        harness.slack
          .deliveredCallsOf('chat.postMessage')
          .some((call) => call.args.channel === WAR_ROOM && !call.args.thread_ts && textOf(call.args).includes(`BG-${mine.number}`) && textOf(call.args).includes('Audit summary')),
      'the summary in the channel',
    );

    // Extensions of what the close left running are refused.
    const refused = await answerTo(REQUESTER2, `extend BG-${theirs.number} 30m`, WAR_ROOM);
    expect(refused.text).toContain(`The incident BG-${theirs.number} was requested for has been closed`);
    expect(await harness.db.extension.count({ where: { requestId: theirs.id } })).toBe(0);

    // A second click on the same Confirm finds nothing left that it may end.
    const again = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.sender.blockAction({ userId: REQUESTER, channelId: WAR_ROOM, actionId: ActionIds.confirmIncidentClose, value: confirm! });
    expect(await ephemeralFor(harness, REQUESTER, again)).toContain(`Incident closed in <#${WAR_ROOM}>: 0 requests end; the audit summaries follow.\nNot yours to end`);
  });

  it('lets an approver of the role end what is left', async () => {
    const preview = await answerTo(APPROVER2, 'incident close', WAR_ROOM);
    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.sender.blockAction({
      userId: APPROVER2,
      channelId: WAR_ROOM,
      actionId: ActionIds.confirmIncidentClose,
      value: buttonValue(preview.blocks, ActionIds.confirmIncidentClose)!,
    });
    expect(await ephemeralFor(harness, APPROVER2, ephemerals)).toContain(`1 request ends (BG-${theirs.number})`);
    await statusBecomes(harness, theirs.id, 'REVOKED');
    expect(await target.hasRole(login, writeRole)).toBe(false);
  });

  it('answers bad input clearly and changes nothing', async () => {
    await outboxDrained(harness);
    const before = await counts();
    expect((await answerTo(REQUESTER, 'incident close', `D${REQUESTER}`)).text).toContain('Run `/breakglass incident close` in the incident channel');
    expect((await answerTo(REQUESTER, 'incident close', 'C0EMPTY')).text).toContain('Nothing to close here');
    expect((await answerTo(REQUESTER, 'incident close', WAR_ROOM)).text).toContain('Nothing to close here');
    const usage = await harness.sender.slashCommand({ userId: REQUESTER, channelId: WAR_ROOM, text: 'incident open' });
    expect(usage.json().text).toContain('`incident` takes one word: `close`');
    const forged = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.sender.blockAction({ userId: REQUESTER, channelId: WAR_ROOM, actionId: ActionIds.confirmIncidentClose, value: 'not json' });
    expect(await ephemeralFor(harness, REQUESTER, forged)).toContain('That button is not one I made');
    expect(await counts()).toEqual(before);
  });
});
