import { ActionIds, EmergencyConfirmModal, FlagModal, RequestModal } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import type { RecordedCall } from '../support/fake-slack-api';
import { plainTextInputValue, staticSelectValue } from '../support/slack-request-signer';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue, endLiveRequests, ephemeralFor, requestAccess, startE2eBot, statusBecomes, textOf } from './e2e-helpers';
import { CHANNEL, OUTSIDER, REQUESTER, REQUESTER2 } from './policy-fixture';

/**
 * Emergency access (break glass): granted at once without approval, through the same grant as an approved request,
 * loud everywhere, and reviewed afterwards by reviewers only (never the requester, nor the requester's login), with
 * overdue notices when nobody reviews it in time.
 */
const target = new TargetDatabase();
let harness: BotHarness;

const SECURITY = 'C0SECURITY';
const NOTIFY = 'C0NOTIFY';
const REVIEWER = 'U0REVIEWER';
/** In the reviewers' group S0SECREVIEW, with REQUESTER and REQUESTER2 (the requester's second account). */
const REVIEWER2 = 'U0REVIEWER2';
const dm = (userId: string) => `D${userId}`;

beforeAll(async () => {
  await target.connect();
  const hotfix = await target.createRole('hotfix', { login: false });
  const escalate = await target.createRole('escalate', { login: false });
  ({ harness } = await startE2eBot(target, undefined, {
    policy: {
      extra: `alerts: { securityChannel: ${SECURITY} }`,
      extraResources: `
  - id: core-db
    provider: { type: postgres, url: "${target.url}" }
    approvers: [U0APPROVER1]
    emergency: { allowed: true, maxDuration: 30m, reviewers: [${REVIEWER}, S0SECREVIEW], notify: [${NOTIFY}], after: 0 }
    roles:
      - { id: write, grant: ${target.name('write')}, approvals: 1, maxDuration: 2h }
      - { id: read, grant: ${escalate}, approvals: 1, maxDuration: 2h, emergency: { after: 2s } }
      - { id: hotfix, grant: ${hotfix}, approvals: 1, maxDuration: 2h, requireTicket: false, emergency: { reviewWithin: 2s } }
      - { id: plain, grant: ${target.name('read')}, approvals: 1, maxDuration: 1h, emergency: null }`,
    },
  }));
  harness.slack.setUserGroup('S0SECREVIEW', [REVIEWER2, REQUESTER, REQUESTER2]);
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

afterEach(() => endLiveRequests(harness));

async function answerTo(userId: string, text: string): Promise<Record<string, any>> {
  const answers = harness.slack.callsOf('response_url').length;
  const response = await harness.sender.slashCommand({ userId, channelId: CHANNEL, text });
  expect(response.status).toBe(200);
  const immediate = response.body ? response.json() : null;
  if (immediate?.text) return immediate;
  return (await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], 'an answer on the response_url')).args;
}

const posts = (after: number, where: (call: RecordedCall) => boolean) => harness.slack.callsOf('chat.postMessage').slice(after).filter(where);
const hasReviewButtons = (call: RecordedCall) => buttonValue(call.args.blocks ?? [], ActionIds.emergencyJustified) !== undefined;

/** `/breakglass emergency …`, confirmed in its modal; returns the request once granted. */
async function breakGlassByCommand(text: string, userId = REQUESTER) {
  const opened = harness.slack.callsOf('views.open').length;
  const response = await harness.sender.slashCommand({ userId, channelId: CHANNEL, text: `emergency ${text}` });
  expect(response.status).toBe(200);
  const modal = await waitFor(() => harness.slack.callsOf('views.open').slice(opened)[0], 'the emergency confirmation');
  expect(modal.args.view.callback_id).toBe(EmergencyConfirmModal.callbackId);
  const submitted = await harness.sender.viewSubmission({ userId, callbackId: EmergencyConfirmModal.callbackId, privateMetadata: modal.args.view.private_metadata, values: {} });
  expect(submitted.status).toBe(200);
  const request = await waitFor(
    () => harness.db.accessRequest.findFirst({ where: { requesterId: userId, emergency: true, status: { in: ['APPROVED', 'ACTIVE'] } } }),
    'the emergency request',
  );
  return { request: await statusBecomes(harness, request.id, 'ACTIVE'), modal: modal.args.view };
}

/** Clicks a review button on the alert as `userId` (in `channelId`) and returns the ephemeral answer. */
async function clickAs(userId: string, actionId: string, requestId: string, channelId = SECURITY): Promise<string> {
  const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
  await harness.sender.blockAction({ userId, channelId, actionId, value: requestId });
  return ephemeralFor(harness, userId, ephemerals);
}

describe('/breakglass emergency', () => {
  it.each([
    ['over emergency.maxDuration', 'core-db write 45m INC-1 db down', /at most 30m.*Nothing was changed/],
    ['without the ticket the role requires', 'core-db write 20m - db down', /needs a ticket/],
    ['for a role that does not allow it', 'core-db plain 20m INC-1 db down', /does not allow emergency access/],
    ['without a reason', 'core-db write 20m INC-1', /always needs a reason/],
  ])('refuses a request %s, ephemerally, and records nothing', async (_what, text, expected) => {
    const opened = harness.slack.callsOf('views.open').length;
    const answer = await answerTo(REQUESTER, `emergency ${text}`);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toMatch(expected);
    expect(harness.slack.callsOf('views.open').length).toBe(opened);
    expect(await harness.db.accessRequest.count()).toBe(0);
  });

  it('confirms first, then grants at once through the normal grant, loudly, and only reviewers may review', async () => {
    const before = harness.slack.callsOf('chat.postMessage').length;
    const opened = harness.slack.callsOf('views.open').length;
    await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: 'emergency core-db write 20m INC-42 payouts down, nobody answers' });
    const modal = await waitFor(() => harness.slack.callsOf('views.open').slice(opened)[0], 'the confirmation');
    expect(textOf(modal.args.view)).toMatch(/without approval/);
    expect(textOf(modal.args.view)).toContain(`<#${SECURITY}>`);
    expect(textOf(modal.args.view)).toContain(`<@${REVIEWER}>`);
    // Nothing is recorded before the requester confirms.
    expect(await harness.db.accessRequest.count()).toBe(0);
    await harness.sender.viewSubmission({ userId: REQUESTER, callbackId: EmergencyConfirmModal.callbackId, privateMetadata: modal.args.view.private_metadata, values: {} });

    const created = await waitFor(() => harness.db.accessRequest.findFirst({ where: { emergency: true } }), 'the emergency request');
    const request = await statusBecomes(harness, created.id, 'ACTIVE');
    expect(request).toMatchObject({ emergency: true, approvalCount: 0, durationSeconds: 1200, decidedBy: REQUESTER });
    expect(await target.hasRole(request.requesterLogin, target.name('write'))).toBe(true);
    expect(await harness.db.grant.count({ where: { requestId: request.id, status: 'ACTIVE' } })).toBe(1);

    // Loud: the request message and its thread, the security and notify channels, every reviewer's DM (not the requester's).
    const current = await harness.request(request.id);
    await waitFor(
      () => posts(before, (c) => c.args.channel === CHANNEL && !c.args.thread_ts && textOf(c.args).includes('EMERGENCY ACCESS')).length === 1,
      'the marked request message',
    );
    for (const where of [
      (c: RecordedCall) => c.args.channel === CHANNEL && c.args.thread_ts === current.messageTs,
      (c: RecordedCall) => c.args.channel === SECURITY,
      (c: RecordedCall) => c.args.channel === NOTIFY,
      (c: RecordedCall) => c.args.channel === dm(REVIEWER),
      (c: RecordedCall) => c.args.channel === dm(REVIEWER2),
      (c: RecordedCall) => c.args.channel === dm(REQUESTER2),
    ]) {
      await waitFor(() => posts(before, (c) => where(c) && hasReviewButtons(c) && textOf(c.args).includes('EMERGENCY ACCESS')).length === 1, 'an emergency alert');
    }
    expect(posts(before, (c) => c.args.channel === dm(REQUESTER) && hasReviewButtons(c))).toHaveLength(0);
    const invoked = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'EMERGENCY_INVOKED' } });
    expect(invoked.actor).toBe(REQUESTER);
    expect(invoked.details).toMatchObject({ via: 'command', reviewers: [REVIEWER, 'S0SECREVIEW'], reviewDueAt: expect.any(String) });
    expect(await harness.auditActions(request.id)).toEqual(expect.arrayContaining(['REQUESTED', 'EMERGENCY_INVOKED', 'GRANTED']));
    expect(await harness.bot.metrics.registry.getSingleMetricAsString('breakglass_emergency_grants_total')).toMatch(/resource="core-db",role="write"} 1/);
    // Reviewers (and admins) find it in their App Home.
    await waitFor(
      () => harness.slack.callsOf('views.publish').some((c) => c.args.user_id === REVIEWER && textOf(c.args.view).includes('Emergency access to review')),
      'the reviewer’s Home',
    );

    // Reviewer-only: not the requester, not the requester's second account (same login), not an outsider.
    expect(await clickAs(REQUESTER, ActionIds.emergencyJustified, request.id)).toMatch(/someone else has to review it/);
    expect(await clickAs(REQUESTER2, ActionIds.emergencyJustified, request.id)).toMatch(/same login on the targets.*cannot review your own emergency access/);
    expect(await clickAs(OUTSIDER, ActionIds.emergencyJustified, request.id)).toMatch(/Only the emergency reviewers/);
    expect(await clickAs(REQUESTER2, ActionIds.emergencyFlag, request.id)).toMatch(/same login/);
    expect(harness.slack.callsOf('views.open').filter((c) => c.args.view.callback_id === FlagModal.callbackId)).toHaveLength(0);
    expect(await harness.db.emergencyReview.findUniqueOrThrow({ where: { requestId: request.id } })).toMatchObject({ verdict: null });

    const reviewed = harness.slack.callsOf('chat.postMessage').length;
    expect(await clickAs(REVIEWER2, ActionIds.emergencyJustified, request.id, dm(REVIEWER2))).toMatch(/reviewed .* as justified/);
    expect(await clickAs(REVIEWER, ActionIds.emergencyJustified, request.id)).toMatch(/already reviewed by <@U0REVIEWER2> \(justified\)/);
    expect(await harness.db.emergencyReview.findUniqueOrThrow({ where: { requestId: request.id } })).toMatchObject({ verdict: 'justified', reviewedBy: REVIEWER2 });
    await waitFor(() => posts(reviewed, (c) => c.args.channel === SECURITY && textOf(c.args).includes('Reviewed as justified')).length === 1, 'the review in the security channel');
    const event = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'EMERGENCY_REVIEWED' } });
    expect(event).toMatchObject({ actor: REVIEWER2, details: { verdict: 'justified' } });

    // /breakglass audit shows the review; the audit summary at the end too.
    const audit = await answerTo(REVIEWER, `audit BG-${request.number}`);
    expect(textOf(audit)).toContain('Reviewed as justified');
    expect(textOf(audit)).toContain('invoked EMERGENCY ACCESS (command)');
    const ended = harness.slack.callsOf('chat.postMessage').length;
    await harness.bot.service.revokeNow(request.id, REQUESTER);
    const summary = await waitFor(
      () => posts(ended, (c) => c.args.channel === CHANNEL && !c.args.thread_ts && String(c.args.text).includes('Audit summary'))[0],
      'the audit summary',
    );
    expect(textOf(summary.args)).toContain('nobody — emergency access');
    expect(textOf(summary.args)).toContain('Reviewed as justified');
  });

  it('flags through a short form; the security channel hears who and why', async () => {
    const { request } = await breakGlassByCommand('core-db write 10m INC-43 card auth failing');
    const opened = harness.slack.callsOf('views.open').length;
    await harness.sender.blockAction({ userId: REVIEWER, channelId: NOTIFY, actionId: ActionIds.emergencyFlag, value: request.id, triggerId: 'trigger-flag' });
    const form = await waitFor(() => harness.slack.callsOf('views.open').slice(opened)[0], 'the Flag form');
    expect(form.args).toMatchObject({ trigger_id: 'trigger-flag', view: { callback_id: FlagModal.callbackId, private_metadata: request.id } });
    const { blockId, actionId } = FlagModal.blocks.reason;
    const submit = (reason: string, userId = REVIEWER) =>
      harness.sender.viewSubmission({ userId, callbackId: FlagModal.callbackId, privateMetadata: request.id, values: { [blockId]: { [actionId]: plainTextInputValue(reason) } } });

    expect((await submit('   ')).json()).toEqual({ response_action: 'errors', errors: { [blockId]: expect.stringMatching(/Say why/) } });
    // The form is checked again on submit: the requester cannot flag (or clear) their own.
    expect((await submit('fine', REQUESTER)).json().errors[blockId]).toMatch(/someone else/);
    const before = harness.slack.callsOf('chat.postMessage').length;
    const done = await submit('no incident open at that time <!channel>');
    expect(done.status).toBe(200);
    expect(done.body).toBe('');
    const alert = await waitFor(() => posts(before, (c) => c.args.channel === SECURITY && textOf(c.args).includes('FLAGGED'))[0], 'the flag alert');
    expect(textOf(alert.args)).toContain(`<@${REVIEWER}>`);
    expect(textOf(alert.args)).toContain('no incident open at that time');
    // The reviewer's words render literally (plain_text), never as a mention in mrkdwn.
    const mrkdwnTexts = JSON.stringify(alert.args.blocks).match(/"type":"mrkdwn","text":"[^"]*"/g) ?? [];
    expect(mrkdwnTexts.join('\n')).not.toContain('<!channel>');
    expect(alert.args.blocks.some((b: any) => b.text?.type === 'plain_text' && b.text.text.includes('<!channel>'))).toBe(true);
    expect(await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'EMERGENCY_FLAGGED' } })).toMatchObject({
      actor: REVIEWER,
      details: { reason: 'no incident open at that time <!channel>' },
    });
  });

  it('offers "Emergency (no approval)" in the request form, confirmed before anything is recorded', async () => {
    const { blocks } = RequestModal;
    const values = (duration: string): Record<string, Record<string, ReturnType<typeof plainTextInputValue>>> => ({
      [blocks.resource.blockId]: { [blocks.resource.actionId]: staticSelectValue('core-db') },
      [`${blocks.role.blockId}:core-db`]: { [blocks.role.actionId]: staticSelectValue('write') },
      [blocks.duration.blockId]: { [blocks.duration.actionId]: plainTextInputValue(duration) },
      [blocks.ticket.blockId]: { [blocks.ticket.actionId]: plainTextInputValue('INC-44') },
      [blocks.reason.blockId]: { [blocks.reason.actionId]: plainTextInputValue('checkout down') },
      [blocks.kind.blockId]: { [blocks.kind.actionId]: staticSelectValue('emergency') },
    });
    const submit = (duration: string) =>
      harness.sender.viewSubmission({ userId: REQUESTER, callbackId: RequestModal.callbackId, privateMetadata: CHANNEL, values: values(duration) });
    expect((await submit('1h')).json()).toEqual({ response_action: 'errors', errors: { [blocks.duration.blockId]: expect.stringMatching(/at most 30m/) } });
    const update = (await submit('15m')).json();
    expect(update).toMatchObject({ response_action: 'update', view: { callback_id: EmergencyConfirmModal.callbackId } });
    expect(await harness.db.accessRequest.count({ where: { status: { in: ['PENDING', 'APPROVED', 'ACTIVE'] } } })).toBe(0);
    await harness.sender.viewSubmission({ userId: REQUESTER, callbackId: EmergencyConfirmModal.callbackId, privateMetadata: update.view.private_metadata, values: {} });
    const created = await waitFor(() => harness.db.accessRequest.findFirst({ where: { emergency: true, status: { in: ['APPROVED', 'ACTIVE'] } } }), 'the emergency request');
    await statusBecomes(harness, created.id, 'ACTIVE');
    expect((await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: created.id, action: 'EMERGENCY_INVOKED' } })).details).toMatchObject({ via: 'form' });
  });
});

describe('Break glass now on a waiting request', () => {
  it('is refused before emergency.after and to anyone but the requester; then offered by DM and turns the same request into an emergency grant', async () => {
    const { request } = await requestAccess(harness, 'core-db read 1h INC-45 replica lag, approver asleep');
    expect(await clickAs(REQUESTER, ActionIds.breakGlassNow, request.id, CHANNEL)).toMatch(/possible from .* `emergency.after`/);
    expect(await clickAs(REVIEWER, ActionIds.breakGlassNow, request.id, CHANNEL)).toMatch(/Only the requester/);
    expect(await harness.request(request.id)).toMatchObject({ status: 'PENDING', emergency: false });

    const offer = await waitFor(
      () => harness.slack.callsOf('chat.postMessage').find((c) => c.args.channel === dm(REQUESTER) && buttonValue(c.args.blocks ?? [], ActionIds.breakGlassNow) === request.id),
      'the Break glass now offer',
    );
    const button = offer.args.blocks.flatMap((b: any) => b.elements ?? []).find((e: any) => e.action_id === ActionIds.breakGlassNow);
    expect(button.confirm).toBeDefined();
    const before = harness.slack.callsOf('chat.postMessage').length;
    expect(await clickAs(REQUESTER, ActionIds.breakGlassNow, request.id, dm(REQUESTER))).toMatch(/for 30m \(the emergency maximum\) instead of 1h/);
    const active = await statusBecomes(harness, request.id, 'ACTIVE');
    expect(active).toMatchObject({ emergency: true, durationSeconds: 1800, approvalCount: 0 });
    expect((await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'EMERGENCY_INVOKED' } })).details).toMatchObject({ via: 'escalation' });
    await waitFor(() => posts(before, (c) => c.args.thread_ts === active.messageTs && hasReviewButtons(c)).length === 1, 'the alert in the thread');
    await waitFor(
      () => harness.slack.callsOf('chat.update').some((c) => c.args.ts === active.messageTs && textOf(c.args).includes('EMERGENCY ACCESS')),
      'the marked request message',
    );
    // An approver arriving late finds nothing to approve.
    expect(await clickAs('U0APPROVER1', ActionIds.approve, request.id, CHANNEL)).toMatch(/already approved/);
  });
});

describe('overdue reviews', () => {
  it('reminds the reviewers and tells the security channel once per notice, and schedules the next a day later', async () => {
    const before = harness.slack.callsOf('chat.postMessage').length;
    const { request } = await breakGlassByCommand('core-db hotfix 10m - hotfix for the outage');
    const overdue = (c: RecordedCall) => c.args.channel === SECURITY && textOf(c.args).includes('unreviewed past its deadline');
    await waitFor(() => posts(before, overdue).length === 1, 'the overdue notice', 15_000);
    await waitFor(() => posts(before, (c) => c.args.channel === dm(REVIEWER) && textOf(c.args).includes('Reminder') && hasReviewButtons(c)).length === 1, 'the reminder');
    const review = await harness.db.emergencyReview.findUniqueOrThrow({ where: { requestId: request.id } });
    expect(review).toMatchObject({ verdict: null, overdueNotices: 1 });
    expect((await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'EMERGENCY_REVIEW_OVERDUE' } })).details).toMatchObject({ notice: 1 });
    const next = await harness.db.effect.findFirstOrThrow({ where: { requestId: request.id, kind: 'emergency.overdue', deliveredAt: null } });
    expect(next.payload).toEqual({ notice: 2 });
    expect(next.runAfter.getTime() - review.dueAt.getTime()).toBe(86_400_000);
    expect(await harness.bot.metrics.registry.getSingleMetricAsString('breakglass_emergency_reviews_overdue')).toMatch(/breakglass_emergency_reviews_overdue 1/);

    // Two processes' alarms for the same notice (or one delivered twice): one notice.
    const results = await Promise.all([harness.bot.service.reviews.overdue(request.id, 2), harness.bot.service.reviews.overdue(request.id, 2)]);
    expect(results.sort()).toEqual([false, true]);
    expect(await harness.bot.service.reviews.overdue(request.id, 1)).toBe(false);
    await waitFor(() => posts(before, overdue).length === 2, 'the second notice');
    expect(await harness.db.auditEvent.count({ where: { requestId: request.id, action: 'EMERGENCY_REVIEW_OVERDUE' } })).toBe(2);
    // Reviewed: no more notices, and the gauge drops.
    expect(await clickAs(REVIEWER, ActionIds.emergencyJustified, request.id)).toMatch(/as justified/);
    expect(await harness.bot.service.reviews.overdue(request.id, 3)).toBe(false);
    expect(await harness.bot.metrics.registry.getSingleMetricAsString('breakglass_emergency_reviews_overdue')).toMatch(/breakglass_emergency_reviews_overdue 0/);
  });
});
