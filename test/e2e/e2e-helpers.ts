import { ActionIds } from '../../src/slack/blocks/action-ids';
import { BotHarness, truncateAll } from '../support/bot-harness';
import type { TargetDatabase } from '../support/target-database';
import type { WebhookReceiver } from '../support/webhook-receiver';
import { waitFor } from '../support/wait';
import { CHANNEL, e2ePolicy, REQUESTER } from './policy-fixture';

export function textOf(args: Record<string, any>): string {
  return `${args.text ?? ''}\n${JSON.stringify(args.blocks ?? [])}`;
}

export function buttonValue(blocks: any[], actionId: string): string | undefined {
  for (const block of blocks) for (const element of block.elements ?? []) if (element.action_id === actionId) return element.value;
  return undefined;
}

/** Sends `/breakglass <text>` (in `channelId`) and returns the request as its posted approval message names it. */
export async function requestAccess(harness: BotHarness, text: string, userId = REQUESTER, channelId = CHANNEL) {
  const posted = harness.slack.callsOf('chat.postMessage').length;
  const response = await harness.sender.slashCommand({ userId, channelId, text });
  expect(response.status).toBe(200);
  // Other requests' summaries may still be arriving: the approval message is the one with an Approve button.
  const message = await waitFor(
    () =>
      harness.slack
        .callsOf('chat.postMessage')
        .slice(posted)
        .find((call) => !call.args.thread_ts && buttonValue(call.args.blocks ?? [], ActionIds.approve)),
    'the approval message',
  );
  // The bot stores the message's ts right after Slack answers; tests address the message by it.
  const request = await waitFor(async () => {
    const stored = await harness.request(buttonValue(message.args.blocks, ActionIds.approve)!);
    return stored.messageTs ? stored : null;
  }, 'the approval message ts to be stored');
  return { request, message };
}

export async function ephemeralFor(harness: BotHarness, userId: string, after: number): Promise<string> {
  const call = await waitFor(
    () =>
      harness.slack
        .callsOf('chat.postEphemeral')
        .slice(after)
        .find((c) => c.args.user === userId),
    `an ephemeral answer to ${userId}`,
  );
  return call.args.text;
}

/** Waits until every effect committed so far (Slack messages, grants, jobs, App Home refreshes) is delivered: a test
 * that makes Slack answer its next call in a special way must not catch an earlier step's message instead. */
export async function outboxDrained(harness: BotHarness, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await harness.db.effect.count({ where: { deliveredAt: null } })) === 0, 'every effect in the outbox delivered', timeoutMs);
}

export async function statusBecomes(harness: BotHarness, requestId: string, status: string, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const current = await harness.request(requestId);
      return current.status === status ? current : null;
    },
    `request ${requestId} to become ${status}`,
    timeoutMs,
  );
}

/** Ends what `userId` still has live, as they could themselves (withdraws what waits, revokes what is granted), and
 * waits until it is gone. A requester has one live request per resource and role, so a test that leaves one behind
 * would stop the next test from asking for the same access. */
export async function endLiveRequests(harness: BotHarness, userId = REQUESTER): Promise<void> {
  const { service } = harness.bot;
  const live = await harness.db.accessRequest.findMany({ where: { requesterId: userId, status: { in: ['PENDING', 'APPROVED', 'ACTIVE'] } } });
  for (const request of live) {
    if (request.status === 'PENDING') {
      await service.deny(request.id, userId);
      continue;
    }
    // APPROVED: wait for the grant to finish (or fail) first.
    const settled = await waitFor(async () => {
      const current = await harness.request(request.id);
      return current.status === 'APPROVED' ? null : current;
    }, `${request.id} to be granted`);
    if (settled.status === 'ACTIVE') await service.revokeNow(request.id, userId);
  }
  const ids = live.map((request) => request.id);
  await waitFor(
    async () => (await harness.db.accessRequest.count({ where: { id: { in: ids }, status: { in: ['PENDING', 'APPROVED', 'ACTIVE', 'REVOKING'] } } })) === 0,
    `the live requests of ${userId} to end`,
  );
}

/** The end-to-end world: a login and two real roles on the target cluster, and the bot started under the fixture
 * policy on empty tables. Without a webhook receiver, the webhook resource points nowhere. */
export async function startE2eBot(
  target: TargetDatabase,
  webhook?: WebhookReceiver,
  options: {
    policy?: Pick<Parameters<typeof e2ePolicy>[0], 'extra' | 'requestTtl' | 'extraResources' | 'identities' | 'loginEmailDomains' | 'requestsPerHour' | 'defaults'>;
    harness?: ConstructorParameters<typeof BotHarness>[1];
  } = {},
) {
  await target.connect();
  const login = await target.createRole('alice', { login: true });
  const readRole = await target.createRole('read', { login: false });
  const writeRole = await target.createRole('write', { login: false });
  const policyYaml = e2ePolicy({
    login,
    readRole,
    writeRole,
    postgresUrl: target.url,
    webhookUrl: webhook?.url ?? 'http://127.0.0.1:9/unused',
    webhookSecret: webhook?.secret ?? 'unused-secret',
    ...options.policy,
  });
  const harness = new BotHarness(policyYaml, options.harness);
  await truncateAll();
  await harness.start();
  return { harness, login, readRole, writeRole, policyYaml };
}
