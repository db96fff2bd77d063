import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { buttonValue, requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, APPROVER2 } from './policy-fixture';

/** Concurrent clicks, as Slack delivers them when two people click at once or a click is retried. */
const target = new TargetDatabase();
let harness: BotHarness;
let login: string;
let writeRole: string;

beforeAll(async () => {
  ({ harness, login, writeRole } = await startE2eBot(target));
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

async function settled(requestId: string) {
  return waitFor(async () => {
    const current = await harness.request(requestId);
    return ['PENDING', 'APPROVED', 'REVOKING'].includes(current.status) ? null : current;
  }, 'the request to settle');
}

describe('races', () => {
  it('activates a 2-approval request exactly once when both approvers click at the same instant', async () => {
    for (let round = 0; round < 5; round++) {
      const { request } = await requestAccess(harness, `payments-db write 1h INC-${round} race round ${round}`);
      const responses = await Promise.all([harness.click(ActionIds.approve, APPROVER1, request), harness.click(ActionIds.approve, APPROVER2, request)]);
      expect(responses.map((r) => r.status)).toEqual([200, 200]);
      const active = await statusBecomes(harness, request.id, 'ACTIVE');
      expect(active.approvals.map((a) => a.approverId).sort()).toEqual([APPROVER1, APPROVER2]);
      expect(active.approvalCount).toBe(2);
      const actions = await harness.auditActions(request.id);
      expect(actions.filter((a) => a === 'QUORUM_REACHED')).toHaveLength(1);
      expect(actions.filter((a) => a === 'GRANTED')).toHaveLength(1);
      expect(await harness.db.grant.count({ where: { requestId: request.id } })).toBe(1);
      expect(await target.hasRole(login, writeRole)).toBe(true);
      // However the two updates interleave, the message ends up showing the active request, not stale buttons.
      await harness.slack.waitForCall('chat.postMessage', (args) => args.thread_ts === request.messageTs && String(args.text).includes('Granted'));
      await waitFor(() => {
        const last = harness.slack
          .callsOf('chat.update')
          .filter((c) => c.args.ts === request.messageTs)
          .at(-1);
        return last && buttonValue(last.args.blocks, ActionIds.revokeNow) === request.id && !buttonValue(last.args.blocks, ActionIds.approve);
      }, 'the message to show the active request');
      await harness.click(ActionIds.revokeNow, APPROVER1, request);
      await statusBecomes(harness, request.id, 'REVOKED');
    }
    expect(await target.hasRole(login, writeRole)).toBe(false);
  });

  it('counts the same click delivered twice (a Slack retry or a double click) once', async () => {
    const { request } = await requestAccess(harness, 'payments-db write 1h INC-20 double click');
    await Promise.all([
      harness.click(ActionIds.approve, APPROVER1, request),
      harness.click(ActionIds.approve, APPROVER1, request),
      harness.click(ActionIds.approve, APPROVER1, request),
    ]);
    await waitFor(async () => (await harness.auditActions(request.id)).includes('APPROVAL_RECORDED'), 'the approval');
    // Give any duplicate that slipped through time to land before checking nothing did.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const current = await harness.request(request.id);
    expect(current.status).toBe('PENDING');
    expect(current.approvals).toHaveLength(1);
    expect(current.approvalCount).toBe(1);
    expect((await harness.auditActions(request.id)).filter((a) => a === 'APPROVAL_RECORDED')).toHaveLength(1);
  });

  it('ends Approve and Deny racing on a 1-approval request in exactly one final state', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 6; round++) {
      const { request } = await requestAccess(harness, `payments-db read 1h INC-3${round} approve vs deny ${round}`);
      await Promise.all([harness.click(ActionIds.approve, APPROVER1, request), harness.click(ActionIds.deny, APPROVER2, request)]);
      const final = await settled(request.id);
      outcomes.push(final.status);
      const actions = await harness.auditActions(request.id);
      if (final.status === 'DENIED') {
        expect(actions).not.toContain('QUORUM_REACHED');
        expect(final.approvals).toHaveLength(0);
        expect(await target.hasRole(login, target.name('read'))).toBe(false);
      } else {
        expect(final.status).toBe('ACTIVE');
        expect(actions).not.toContain('DENIED');
        expect(actions.filter((a) => a === 'GRANTED')).toHaveLength(1);
        await harness.click(ActionIds.revokeNow, APPROVER1, request);
        await statusBecomes(harness, request.id, 'REVOKED');
      }
    }
    expect(outcomes.every((status) => status === 'DENIED' || status === 'ACTIVE')).toBe(true);
  });

  it('revokes once when Revoke now is clicked twice at once', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 1h INC-40 revoke twice');
    await harness.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(harness, request.id, 'ACTIVE');
    await Promise.all([harness.click(ActionIds.revokeNow, APPROVER1, request), harness.click(ActionIds.revokeNow, APPROVER2, request)]);
    await statusBecomes(harness, request.id, 'REVOKED');
    const actions = await harness.auditActions(request.id);
    expect(actions.filter((a) => a === 'REVOKE_REQUESTED')).toHaveLength(1);
    expect(actions.filter((a) => a === 'REVOKED')).toHaveLength(1);
    // The summary follows the revocation in the background; a second one would arrive within the thread's.
    const summaries = () =>
      harness.slack
        .callsOf('chat.postMessage')
        .filter((c) => !c.args.thread_ts && String(c.args.text).startsWith('Audit summary') && String(c.args.text).includes(`BG-${request.number}:`));
    await waitFor(
      () =>
        summaries().length > 0 && harness.slack.callsOf('chat.postMessage').some((c) => c.args.thread_ts === request.messageTs && String(c.args.text).startsWith('Audit summary')),
      'the audit summaries',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(summaries()).toHaveLength(1);
  });
});
