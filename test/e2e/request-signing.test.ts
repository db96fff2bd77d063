import { ActionIds } from '../../src/slack/blocks/action-ids';
import { BotHarness, truncateAll } from '../support/bot-harness';
import { requestAccess } from './e2e-helpers';
import { APPROVER1, CHANNEL, e2ePolicy, REQUESTER } from './policy-fixture';

/** Requests that do not come from Slack must be rejected before they touch anything. */
let harness: BotHarness;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  harness = new BotHarness(
    e2ePolicy({
      login: 'nobody',
      readRole: 'r',
      writeRole: 'w',
      postgresUrl: 'postgresql://postgres@127.0.0.1:5432/postgres',
      webhookUrl: 'http://127.0.0.1:9/unused',
      webhookSecret: 'unused-secret',
    }),
  );
  await truncateAll();
  await harness.start();
});

afterAll(async () => {
  await harness?.stop();
});

// Each variant's click goes to a request of its own requester: a requester has one live request per role.
const variants: Array<[string, { timestampSec?: number; signature?: string }, string]> = [
  ['a bad signature', { signature: `v0=${'0'.repeat(64)}` }, 'U0SIGNING1'],
  ['a timestamp more than five minutes old', { timestampSec: now() - 6 * 60 }, 'U0SIGNING2'],
  ['a timestamp more than five minutes in the future', { timestampSec: now() + 6 * 60 }, 'U0SIGNING3'],
];

describe.each(variants)('a request with %s', (_what, signing, requester) => {
  it('is rejected as a slash command and records nothing', async () => {
    const calls = harness.slack.calls.length;
    const before = await harness.db.accessRequest.count();
    const response = await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text: 'payments-db read 30m INC-1 forged', ...signing });
    expect(response.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await harness.db.accessRequest.count()).toBe(before);
    expect(harness.slack.calls.slice(calls).map((c) => c.method)).toEqual([]);
  });

  it('is rejected as a button click and changes nothing', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 30m INC-2 a real request', requester);
    const response = await harness.sender.blockAction({ userId: APPROVER1, channelId: CHANNEL, actionId: ActionIds.approve, value: request.id, ...signing });
    expect(response.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await harness.request(request.id);
    expect(after.status).toBe('PENDING');
    expect(after.approvals).toHaveLength(0);
  });
});

it('accepts the same request correctly signed within the window (so the rejections above are about signing)', async () => {
  const { request } = await requestAccess(harness, 'payments-db read 30m INC-3 correctly signed');
  expect(request.status).toBe('PENDING');
});
