import { PolicyError } from '../../src/policy/load-policy';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { PagerDutyScheduleError } from '../../src/services/pagerduty-check';
import { BotHarness } from '../support/bot-harness';
import { FakePagerDuty } from '../support/fake-pagerduty';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { endLiveRequests, ephemeralFor, requestAccess, startE2eBot, statusBecomes, textOf } from './e2e-helpers';
import { APPROVER1 } from './policy-fixture';

/**
 * Approvers named by on-call schedule: `pagerduty:<ID>` (whoever PagerDuty has on call now, found in Slack by e-mail)
 * and `schedule:<name>` (a rotation in the policy). Over signed HTTP, with the fake Slack and a fake PagerDuty served
 * over HTTP; PagerDuty answers are not cached here (cacheMs 0), so each look-up sees the fake's state.
 */
const PD_TOKEN = 'pd-test-token-0123456789';
const SCHEDULE = 'PSCHED01';
const ON_CALL = 'U0ONCALL';
const NOT_ON_CALL = 'U0NOTONCALL';
const ROTA = 'U0ROTA';
const ROTB = 'U0ROTB';
/** The rotation's first handover is at 09:00 Berlin time (08:00 UTC) on Monday 5 January 2026. */
const ROTATION_START = new Date('2026-01-05T08:00:00Z');
const DAY_MS = 86_400_000;

const target = new TargetDatabase();
const pagerDuty = new FakePagerDuty({ token: PD_TOKEN });
let harness: BotHarness;
let clock = new Date(ROTATION_START.getTime() + 3_600_000);

function oncallPolicy(readGrant: string, scheduleId = SCHEDULE) {
  return {
    extra: `schedules:
  primary: { rotation: [${ROTA}, ${ROTB}], every: 7d, start: "2026-01-05T09:00:00+01:00" }`,
    extraResources: `
  - id: oncall-db
    provider: { type: postgres, url: "${target.url}" }
    approvers: ["pagerduty:${scheduleId}", ${APPROVER1}]
    roles: [ { id: pd, grant: ${readGrant}, approvals: 1, maxDuration: 1h } ]
  - id: rota-db
    provider: { type: postgres, url: "${target.url}" }
    approvers: ["schedule:primary"]
    roles: [ { id: rota, grant: ${readGrant}, approvals: 1, maxDuration: 1h } ]`,
  };
}

beforeAll(async () => {
  await pagerDuty.start();
  pagerDuty.setOnCall(SCHEDULE, [`${ON_CALL.toLowerCase()}@example.com`]);
  await target.connect();
  ({ harness } = await startE2eBot(target, undefined, {
    policy: oncallPolicy(target.name('read')),
    harness: {
      config: { pagerDuty: { token: PD_TOKEN, apiUrl: pagerDuty.url, cacheMs: 0 } },
      policyEnv: { PAGERDUTY_TOKEN: PD_TOKEN },
      onCallClock: () => clock,
    },
  }));
});

afterAll(async () => {
  await harness?.stop();
  await pagerDuty.stop();
  await target.dropAll();
});

afterEach(async () => {
  pagerDuty.recover();
  await endLiveRequests(harness);
});

async function clickAs(actionId: string, userId: string, request: { id: string; channelId: string; messageTs: string | null }): Promise<string> {
  const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
  const response = await harness.click(actionId, userId, request);
  expect(response.status).toBe(200);
  return ephemeralFor(harness, userId, ephemerals);
}

const notApprover = 'You are not an approver for this resource and role, so your approval would not count.';

describe('pagerduty: approvers', () => {
  it('mentions whoever PagerDuty has on call, lets them approve, and refuses someone who is not on call', async () => {
    const { request, message } = await requestAccess(harness, 'oncall-db pd 30m INC-1 disk full on the primary');
    // The approval message names the person on call, in the notification text too.
    expect(message.args.text).toContain(`(on call: <@${ON_CALL}>)`);
    expect(textOf(message.args)).toContain(`whoever is on call for PagerDuty schedule ${SCHEDULE} (now <@${ON_CALL}>)`);
    // The PagerDuty call as PagerDuty's REST API wants it.
    const lookup = pagerDuty.callsTo('/oncalls').at(-1)!;
    expect(lookup.authorization).toBe(`Token token=${PD_TOKEN}`);
    expect(lookup.accept).toBe('application/vnd.pagerduty+json;version=2');
    expect(lookup.query.getAll('schedule_ids[]')).toEqual([SCHEDULE]);
    expect(lookup.query.getAll('include[]')).toEqual(['users']);
    expect(harness.slack.callsOf('users.lookupByEmail').some((call) => call.args.email === `${ON_CALL.toLowerCase()}@example.com`)).toBe(true);

    expect(await clickAs(ActionIds.approve, NOT_ON_CALL, request)).toBe(notApprover);
    expect(await harness.request(request.id)).toMatchObject({ status: 'PENDING', approvalCount: 0 });

    expect(await clickAs(ActionIds.approve, ON_CALL, request)).toMatch(/You approved BG-\d+; that completes the approvals/);
    await statusBecomes(harness, request.id, 'ACTIVE');
    expect((await harness.request(request.id)).approvals.map((approval) => approval.approverId)).toEqual([ON_CALL]);
    // The audit trail keeps why they counted: PagerDuty keeps no record of who was on call when.
    const recorded = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'APPROVAL_RECORDED' } });
    expect(recorded.details).toMatchObject({ onCall: [`pagerduty:${SCHEDULE}`] });
  });

  it('after a handover in PagerDuty, the new person approves and the previous one no longer can', async () => {
    pagerDuty.setOnCall(SCHEDULE, [`${NOT_ON_CALL.toLowerCase()}@example.com`]);
    try {
      const { request, message } = await requestAccess(harness, 'oncall-db pd 30m INC-2 handover');
      expect(message.args.text).toContain(`(on call: <@${NOT_ON_CALL}>)`);
      expect(await clickAs(ActionIds.approve, ON_CALL, request)).toBe(notApprover);
      expect(await clickAs(ActionIds.approve, NOT_ON_CALL, request)).toMatch(/that completes the approvals/);
      await statusBecomes(harness, request.id, 'ACTIVE');
    } finally {
      pagerDuty.setOnCall(SCHEDULE, [`${ON_CALL.toLowerCase()}@example.com`]);
    }
  });

  it('PagerDuty down: the message says so, an on-call click is refused clearly, and the other approvers still count', async () => {
    pagerDuty.down();
    const { request, message } = await requestAccess(harness, 'oncall-db pd 30m INC-3 pagerduty is down too');
    expect(textOf(message.args)).toContain(`PagerDuty schedule ${SCHEDULE} could not be reached, so who is on call is unknown; the role's other approvers can still approve.`);
    expect(message.args.text).not.toContain('on call:');

    expect(await clickAs(ActionIds.approve, ON_CALL, request)).toBe(
      `PagerDuty cannot be reached right now, so I cannot check whether you are on call (PagerDuty schedule ${SCHEDULE}); nothing was recorded. The role's other approvers can still decide, or try again in a minute.`,
    );
    expect(await harness.request(request.id)).toMatchObject({ status: 'PENDING', approvalCount: 0 });

    // A named approver does not depend on PagerDuty.
    expect(await clickAs(ActionIds.approve, APPROVER1, request)).toMatch(/that completes the approvals/);
    await statusBecomes(harness, request.id, 'ACTIVE');
    const recorded = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: request.id, action: 'APPROVAL_RECORDED' } });
    expect(recorded.details).not.toHaveProperty('onCall');
  });

  it('PagerDuty answering errors counts as unreachable too', async () => {
    pagerDuty.fail(503);
    const { request, message } = await requestAccess(harness, 'oncall-db pd 30m INC-4 pagerduty answers 503');
    expect(textOf(message.args)).toContain(`PagerDuty schedule ${SCHEDULE} could not be reached`);
    expect(await clickAs(ActionIds.approve, ON_CALL, request)).toMatch(/^PagerDuty cannot be reached right now/);
    pagerDuty.recover();
    expect(await clickAs(ActionIds.approve, ON_CALL, request)).toMatch(/that completes the approvals/);
    await statusBecomes(harness, request.id, 'ACTIVE');
  });
});

describe('schedule: approvers (a rotation in the policy)', () => {
  it('whoever the rotation has on call approves, at two points in time', async () => {
    // Week 1: ROTA.
    clock = new Date(ROTATION_START.getTime() + 2 * DAY_MS);
    const first = await requestAccess(harness, 'rota-db rota 30m INC-5 week one');
    expect(first.message.args.text).toContain(`(on call: <@${ROTA}>)`);
    expect(textOf(first.message.args)).toContain(`whoever is on call for rotation primary (now <@${ROTA}>)`);
    expect(await clickAs(ActionIds.approve, ROTB, first.request)).toBe(notApprover);
    expect(await clickAs(ActionIds.approve, ROTA, first.request)).toMatch(/that completes the approvals/);
    await statusBecomes(harness, first.request.id, 'ACTIVE');
    const recorded = await harness.db.auditEvent.findFirstOrThrow({ where: { requestId: first.request.id, action: 'APPROVAL_RECORDED' } });
    expect(recorded.details).toMatchObject({ onCall: ['schedule:primary'] });
    await endLiveRequests(harness);

    // Week 2, one minute after the handover: ROTB.
    clock = new Date(ROTATION_START.getTime() + 7 * DAY_MS + 60_000);
    const second = await requestAccess(harness, 'rota-db rota 30m INC-6 week two');
    expect(second.message.args.text).toContain(`(on call: <@${ROTB}>)`);
    expect(await clickAs(ActionIds.approve, ROTA, second.request)).toBe(notApprover);
    expect(await clickAs(ActionIds.approve, ROTB, second.request)).toMatch(/that completes the approvals/);
    await statusBecomes(harness, second.request.id, 'ACTIVE');
  });

  it('shows the request in the App Home of whoever is on call', async () => {
    clock = new Date(ROTATION_START.getTime() + 2 * DAY_MS);
    const { request } = await requestAccess(harness, 'rota-db rota 30m INC-7 home');
    const home = await waitFor(
      () =>
        harness.slack
          .callsOf('views.publish')
          .filter((call) => call.args.user_id === ROTA)
          .find((call) => JSON.stringify(call.args.view).includes(`"value":"${request.id}"`)),
      'the on-call person’s App Home with the request to approve',
    );
    expect(JSON.stringify(home.args.view)).toContain(ActionIds.approve);
  });
});

describe('start-up', () => {
  it('refuses a policy naming an unknown schedule, with a hint', async () => {
    const yaml = `
schedules:
  primary: { rotation: [${ROTA}], every: 7d, start: "2026-01-05T09:00:00Z" }
resources:
  - id: db
    provider: { type: postgres, url: "${target.url}" }
    approvers: ["schedule:primry"]
    roles: [ { id: read } ]`;
    const bad = new BotHarness(yaml);
    try {
      const refusal = await bad.start().then(
        () => null,
        (err: unknown) => err,
      );
      expect(refusal).toBeInstanceOf(PolicyError);
      expect((refusal as Error).message).toContain(
        'test-policy.yaml: resources[0].approvers[0]: "schedule:primry" names no schedule in "schedules" (did you mean "schedule:primary"?)',
      );
    } finally {
      await bad.stop();
    }
  });

  it('refuses a PagerDuty schedule that PagerDuty does not know (404), naming it and the roles', async () => {
    const policy = oncallPolicy(target.name('read'), 'PNOSUCH1');
    const unknown = new BotHarness(`${policy.extra}\nresources:${policy.extraResources}`, {
      config: { pagerDuty: { token: PD_TOKEN, apiUrl: pagerDuty.url, cacheMs: 0 } },
      policyEnv: { PAGERDUTY_TOKEN: PD_TOKEN },
    });
    try {
      const refusal = await unknown.start().then(
        () => null,
        (err: unknown) => err,
      );
      expect(refusal).toBeInstanceOf(PagerDutyScheduleError);
      expect((refusal as Error).message).toBe(
        `test-policy.yaml: "pagerduty:PNOSUCH1" (approvers of oncall-db/pd): PagerDuty has no schedule PNOSUCH1 (GET /schedules/PNOSUCH1 answered 404); check the id at the end of the schedule's URL and that PAGERDUTY_TOKEN's account can see it`,
      );
    } finally {
      await unknown.stop();
    }
    expect(pagerDuty.callsTo('/schedules/PNOSUCH1').map((call) => call.status)).toEqual([404]);
  });
});
