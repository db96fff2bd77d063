import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { waitFor } from '../support/wait';
import { CHANNEL, REQUESTER } from './policy-fixture';

export function textOf(args: Record<string, any>): string {
  return `${args.text ?? ''}\n${JSON.stringify(args.blocks ?? [])}`;
}

export function buttonValue(blocks: any[], actionId: string): string | undefined {
  for (const block of blocks) for (const element of block.elements ?? []) if (element.action_id === actionId) return element.value;
  return undefined;
}

/** Sends `/breakglass <text>` and returns the request as its posted approval message names it. */
export async function requestAccess(harness: BotHarness, text: string, userId = REQUESTER) {
  const posted = harness.slack.callsOf('chat.postMessage').length;
  const response = await harness.sender.slashCommand({ userId, channelId: CHANNEL, text });
  expect(response.status).toBe(200);
  // Other requests' summaries may still be arriving: the approval message is the one with an Approve button.
  const message = await waitFor(
    () => harness.slack.callsOf('chat.postMessage').slice(posted).find((call) => !call.args.thread_ts && buttonValue(call.args.blocks ?? [], ActionIds.approve)),
    'the approval message',
  );
  return { request: await harness.request(buttonValue(message.args.blocks, ActionIds.approve)!), message };
}

export async function ephemeralFor(harness: BotHarness, userId: string, after: number): Promise<string> {
  const call = await waitFor(() => harness.slack.callsOf('chat.postEphemeral').slice(after).find((c) => c.args.user === userId), `an ephemeral answer to ${userId}`);
  return call.args.text;
}

export async function statusBecomes(harness: BotHarness, requestId: string, status: string, timeoutMs = 10_000) {
  return waitFor(async () => {
    const current = await harness.request(requestId);
    return current.status === status ? current : null;
  }, `request ${requestId} to become ${status}`, timeoutMs);
}
