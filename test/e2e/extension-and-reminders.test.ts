import { expiryJobId } from '../../src/jobs/expiry-queue';
import { reminderJobId } from '../../src/jobs/reminder-queue';
import { ActionIds, ExtendModal } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue, endLiveRequests, ephemeralFor, outboxDrained, requestAccess, startE2eBot, statusBecomes, textOf } from './e2e-helpers';
import { APPROVER1, APPROVER2, REQUESTER } from './policy-fixture';

const target = new TargetDatabase();
let harness: BotHarness;
let login: string;
let readRole: string;

const DM = `D${REQUESTER}`;
const { blockId: DURATION_BLOCK, actionId: DURATION_ACTION } = ExtendModal.blocks.duration;

beforeAll(async () => {
  ({ harness, login, readRole } = await startE2eBot(target, undefined, {
    policy: {
      // Two roles on one more resource: extensions without approval (self) and with two (approved).
      extraResources: `
  - id: ops-db
    provider: { type: postgres, url: "${target.url}" }
    approvers: [U0APPROVER1, U0APPROVER2]
    roles:
      - { id: self, grant: ${target.name('read')}, approvals: 1, maxDuration: 1h, remindBefore: 2s, extension: { approvals: 0, maxTotal: 2h } }
      - { id: approved, grant: ${target.name('write')}, approvals: 1, maxDuration: 1h, remindBefore: 2s, extension: { approvals: 2, maxTotal: 90m } }`,
    },
  }));
});

// Several tests ask for the same role: each starts without the access an earlier one left active.
afterEach(() => endLiveRequests(harness));

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

async function activeRequest(role: 'self' | 'approved', duration: string) {
  const { request } = await requestAccess(harness, `ops-db ${role} ${duration} INC-1 long migration`);
  const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
  await harness.click(ActionIds.approve, APPROVER1, request);
  // The approver's answer comes after the grant; waiting for it keeps it out of the next step's answers.
  await ephemeralFor(harness, APPROVER1, ephemerals);
  return statusBecomes(harness, request.id, 'ACTIVE');
}

function submitExtend(requestId: string, duration: string, userId = REQUESTER) {
  return harness.sender.viewSubmission({
    userId,
    callbackId: ExtendModal.callbackId,
    privateMetadata: requestId,
    values: { [DURATION_BLOCK]: { [DURATION_ACTION]: { type: 'plain_text_input', value: duration } } },
  });
}

function dmTo(after: number, pattern: RegExp) {
  return waitFor(
    () =>
      harness.slack
        .callsOf('chat.postMessage')
        .slice(after)
        .find((call) => call.args.channel === DM && pattern.test(textOf(call.args))),
    `a DM matching ${pattern}`,
  );
}

function clickInDm(actionId: string, value: string, userId = REQUESTER) {
  return harness.sender.blockAction({ userId, channelId: DM, actionId, value });
}

describe('reminders', () => {
  it("DMs the requester remindBefore the expiry, once, with Extend and I'm done; I'm done revokes at once", async () => {
    const posts = harness.slack.callsOf('chat.postMessage').length;
    const active = await activeRequest('self', '5s');
    const reminder = await dmTo(posts, /ends soon/);
    expect(textOf(reminder.args)).toContain('Your access BG-');
    expect(buttonValue(reminder.args.blocks, ActionIds.extendAccess)).toBe(active.id);
    expect(buttonValue(reminder.args.blocks, ActionIds.finishAccess)).toBe(active.id);
    const reminded = await harness.request(active.id);
    expect(reminded.reminderSentAt).not.toBeNull();
    // Not before its time: remindBefore (2s) ahead of the expiry.
    expect(reminded.reminderSentAt!.getTime()).toBeGreaterThanOrEqual(active.expiresAt!.getTime() - 2_000);
    expect(await target.hasRole(login, readRole)).toBe(true);

    await clickInDm(ActionIds.finishAccess, active.id);
    await statusBecomes(harness, active.id, 'REVOKED');
    expect(await target.hasRole(login, readRole)).toBe(false);
    const actions = await harness.auditActions(active.id);
    expect(actions.filter((action) => action === 'REMINDER_SENT')).toHaveLength(1);
    const summary = await harness.slack.waitForCall('chat.postMessage', (args) => !args.thread_ts && String(args.text).startsWith(`Audit summary BG-${active.number}:`));
    expect(textOf(summary.args)).toMatch(/Reminder sent to the requester[\s\S]*asked to revoke the access now[\s\S]*Access revoked early/);
    expect(actions).toEqual(expect.arrayContaining(['REVOKE_REQUESTED', 'REVOKED']));
  });

  it('a reminder whose job was lost is sent by the reconciler once due', async () => {
    const active = await activeRequest('self', '4s');
    const job = await waitFor(() => harness.bot.reminderQueue.queue.getJob(reminderJobId(active.id, active.expiresAt!)), 'the reminder job');
    await job.remove();
    await waitFor(() => Date.now() > active.expiresAt!.getTime() - 1_500, 'the reminder to be due', 5_000);
    const posts = harness.slack.callsOf('chat.postMessage').length;
    const result = await harness.bot.reconciler.run();
    expect(result.reminded).toBe(1);
    await dmTo(posts, /ends soon/);
    expect((await harness.request(active.id)).reminderSentAt).not.toBeNull();
    await statusBecomes(harness, active.id, 'EXPIRED');
  });
});

describe('extending without approval (extension.approvals: 0)', () => {
  it('opens the Extend form from a button, validates inline, then moves the expiry, the job and the reminder', async () => {
    const active = await activeRequest('self', '30m');
    const opened = harness.slack.callsOf('views.open').length;
    await clickInDm(ActionIds.extendAccess, active.id);
    const modal = await waitFor(() => harness.slack.callsOf('views.open').slice(opened)[0], 'the Extend form');
    expect(modal.args.view.callback_id).toBe(ExtendModal.callbackId);
    expect(modal.args.view.private_metadata).toBe(active.id);
    expect(JSON.stringify(modal.args.view)).toContain('1h 30m'); // 2h total minus the 30m already granted

    const bad = await submitExtend(active.id, 'soon');
    expect(bad.json()).toEqual({ response_action: 'errors', errors: { [DURATION_BLOCK]: expect.stringContaining('not a duration') } });
    const tooLong = await submitExtend(active.id, '2h');
    expect(tooLong.json().errors[DURATION_BLOCK]).toMatch(/2h in total.*at most 1h 30m more/);
    expect((await harness.request(active.id)).expiresAt).toEqual(active.expiresAt);

    const posts = harness.slack.callsOf('chat.postMessage').length;
    const ok = await submitExtend(active.id, '45m');
    expect(ok.body).toBe('');
    await dmTo(posts, /now ends in .*45m more/);
    const extended = await waitFor(async () => {
      const current = await harness.request(active.id);
      return current.expiresAt!.getTime() !== active.expiresAt!.getTime() ? current : null;
    }, 'the new expiry');
    expect(extended.expiresAt!.getTime() - active.expiresAt!.getTime()).toBe(45 * 60_000);
    expect(extended.grant!.expiresAt).toEqual(extended.expiresAt);
    expect(extended.reminderSentAt).toBeNull();
    // The reminder job is scheduled by a `jobs` effect, delivered after the commit.
    await waitFor(() => harness.bot.reminderQueue.queue.getJob(reminderJobId(active.id, extended.expiresAt!)), 'the new reminder job');
    // The expiry job keeps its time: woken at the old expiry, it finds the new one and sleeps until then.
    const expiryJob = await harness.bot.expiryQueue.queue.getJob(expiryJobId(active.id));
    expect(await expiryJob!.getState()).toBe('delayed');
    await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === active.messageTs && /extended BG-\d+ by 45m/.test(textOf(args)));
    const extensions = await harness.db.extension.findMany({ where: { requestId: active.id } });
    expect(extensions).toEqual([expect.objectContaining({ status: 'APPLIED', requiredApprovals: 0, extendBySeconds: 2700 })]);
    expect(await harness.auditActions(active.id)).toContain('EXTENDED');
  });

  it('only the requester can ask for more time', async () => {
    const active = await activeRequest('self', '30m');
    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await harness.sender.blockAction({ userId: APPROVER1, channelId: active.channelId, actionId: ActionIds.extendAccess, value: active.id });
    expect(await ephemeralFor(harness, APPROVER1, ephemerals)).toMatch(/Only the requester/);
    const response = await submitExtend(active.id, '10m', APPROVER1);
    expect(response.json().errors[DURATION_BLOCK]).toMatch(/Only the requester/);
    expect((await harness.request(active.id)).expiresAt).toEqual(active.expiresAt);
  });
});

describe('extending with approval (extension.approvals: 2)', () => {
  async function askForMore(requestId: string, duration: string) {
    const posts = harness.slack.callsOf('chat.postMessage').length;
    expect((await submitExtend(requestId, duration)).body).toBe('');
    const message = await waitFor(
      () =>
        harness.slack
          .callsOf('chat.postMessage')
          .slice(posts)
          .find((call) => buttonValue(call.args.blocks ?? [], ActionIds.approveExtension)),
      'the extension request in the thread',
    );
    await dmTo(posts, /needs 2 approvals/);
    const extensionId = buttonValue(message.args.blocks, ActionIds.approveExtension)!;
    const { messageTs } = await waitFor(() => harness.db.extension.findFirst({ where: { id: extensionId, messageTs: { not: null } } }), 'the extension message ts');
    return { message, extensionId, messageTs };
  }

  const clickExtension = (actionId: string, userId: string, extensionId: string, channelId: string) =>
    harness.sender.blockAction({ userId, channelId, actionId, value: extensionId });

  it('asks in the thread, counts distinct approvers, refuses self-approval, then applies on quorum', async () => {
    const active = await activeRequest('approved', '30m');
    const { message, extensionId, messageTs } = await askForMore(active.id, '15m');
    expect(message.args.thread_ts).toBe(active.messageTs);
    expect(textOf(message.args)).toContain('by *15m*');

    let ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await clickExtension(ActionIds.approveExtension, REQUESTER, extensionId, active.channelId);
    expect(await ephemeralFor(harness, REQUESTER, ephemerals)).toMatch(/cannot approve more time for yourself/);

    ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await clickExtension(ActionIds.approveExtension, APPROVER1, extensionId, active.channelId);
    expect(await ephemeralFor(harness, APPROVER1, ephemerals)).toMatch(/1 more needed/);
    expect((await harness.request(active.id)).expiresAt).toEqual(active.expiresAt);

    // A second ask while one waits is refused (after the form closed, so by DM).
    const before = harness.slack.callsOf('chat.postMessage').length;
    expect((await submitExtend(active.id, '5m')).body).toBe('');
    await dmTo(before, /already waiting for approval/);
    expect(await harness.db.extension.count({ where: { requestId: active.id } })).toBe(1);

    const posts = harness.slack.callsOf('chat.postMessage').length;
    await clickExtension(ActionIds.approveExtension, APPROVER2, extensionId, active.channelId);
    const extended = await waitFor(async () => {
      const current = await harness.request(active.id);
      return current.expiresAt!.getTime() !== active.expiresAt!.getTime() ? current : null;
    }, 'the approved extension');
    expect(extended.expiresAt!.getTime() - active.expiresAt!.getTime()).toBe(15 * 60_000);
    await harness.slack.waitForCall('chat.update', (args) => args.ts === messageTs && /Extended/.test(textOf(args)) && !buttonValue(args.blocks ?? [], ActionIds.approveExtension));
    await dmTo(posts, /Extended/);
    const extension = await harness.db.extension.findUniqueOrThrow({ where: { id: extensionId }, include: { approvals: true } });
    expect(extension).toMatchObject({ status: 'APPLIED', approvalCount: 2, decidedBy: APPROVER2 });
    expect(extension.approvals.map((a) => a.approverId).sort()).toEqual([APPROVER1, APPROVER2]);
    expect(await harness.auditActions(active.id)).toEqual(expect.arrayContaining(['EXTENSION_REQUESTED', 'EXTENSION_APPROVAL_RECORDED', 'EXTENDED']));

    ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await clickExtension(ActionIds.approveExtension, APPROVER1, extensionId, active.channelId);
    expect(await ephemeralFor(harness, APPROVER1, ephemerals)).toMatch(/already approved and applied/);

    // The audit summary tells the whole story, extension included.
    await harness.click(ActionIds.revokeNow, REQUESTER, active);
    const summary = await harness.slack.waitForCall('chat.postMessage', (args) => !args.thread_ts && String(args.text).startsWith(`Audit summary BG-${active.number}:`));
    expect(textOf(summary.args)).toMatch(
      /asked for 15m more \(2 approvals needed\)[\s\S]*approved the extension \(1 of 2\)[\s\S]*approved the extension \(2 of 2\)[\s\S]*extended the access/,
    );
  });

  it('an ask whose thread message cannot be posted is closed at once, so it never blocks the next one', async () => {
    const active = await activeRequest('approved', '30m');
    await outboxDrained(harness);
    const posts = harness.slack.callsOf('chat.postMessage').length;
    harness.slack.respondOnce('chat.postMessage', () => ({ ok: false, error: 'channel_not_found' }));
    expect((await submitExtend(active.id, '10m')).body).toBe('');
    await dmTo(posts, /could not post the extension request/);
    const [closed] = await harness.db.extension.findMany({ where: { requestId: active.id } });
    expect(closed).toMatchObject({ status: 'CANCELLED', messageTs: null });
    expect(await harness.auditActions(active.id)).toContain('EXTENSION_CANCELLED');
    await askForMore(active.id, '10m');
  });

  it('a denial leaves the expiry as it was', async () => {
    const active = await activeRequest('approved', '30m');
    const { extensionId } = await askForMore(active.id, '10m');
    const posts = harness.slack.callsOf('chat.postMessage').length;
    await clickExtension(ActionIds.denyExtension, APPROVER1, extensionId, active.channelId);
    await dmTo(posts, /Denied by/);
    expect(await harness.db.extension.findUniqueOrThrow({ where: { id: extensionId } })).toMatchObject({ status: 'DENIED', decidedBy: APPROVER1 });
    expect((await harness.request(active.id)).expiresAt).toEqual(active.expiresAt);
    expect(await harness.auditActions(active.id)).toContain('EXTENSION_DENIED');
  });

  it('an extension still waiting when the access ends is closed, and its buttons go', async () => {
    const active = await activeRequest('approved', '30m');
    const { extensionId, messageTs } = await askForMore(active.id, '10m');
    await harness.click(ActionIds.revokeNow, REQUESTER, active);
    await statusBecomes(harness, active.id, 'REVOKED');
    await waitFor(async () => (await harness.db.extension.findUniqueOrThrow({ where: { id: extensionId } })).status === 'CANCELLED', 'the extension to be cancelled');
    await harness.slack.waitForCall(
      'chat.update',
      (args) => args.ts === messageTs && /access ended/.test(textOf(args)) && !buttonValue(args.blocks ?? [], ActionIds.approveExtension),
    );
    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    await clickExtension(ActionIds.approveExtension, APPROVER1, extensionId, active.channelId);
    expect(await ephemeralFor(harness, APPROVER1, ephemerals)).toMatch(/access ended first/);
    expect(await harness.auditActions(active.id)).toContain('EXTENSION_CANCELLED');
  });
});
