import type { FakeSlackApi, RecordedCall } from '../support/fake-slack-api';

/** Helpers for the "commit first, then act" tests (issue 10). They look only at what anyone outside the bot can
 * see: the request's row, the target, and what Slack was sent. */

/** Methods the bot posts and updates messages with: the ones a rate-limited bot token gets 429 on. */
export const POSTING_METHODS = ['chat.postMessage', 'chat.update', 'conversations.open'] as const;

/** States after which nothing happens to a request's access any more. */
export const FINAL_STATES = ['DENIED', 'TIMED_OUT', 'EXPIRED', 'REVOKED', 'FAILED'] as const;
export const isFinal = (status: string) => (FINAL_STATES as readonly string[]).includes(status);

/** The full audit summary of request number `number` was in this chat.postMessage: it names `Audit summary
 * BG-<n>:` (merged summaries keep one such line each, so BG-1 never matches BG-10). */
export function isFullSummaryOf(call: RecordedCall, number: number): boolean {
  return String(call.args.text ?? '').includes(`Audit summary BG-${number}:`);
}

/** This chat.postMessage told of the end of request number `number`: its full audit summary, or a channel digest
 * naming it (`Audit summaries: … grants: BG-1, BG-2`, src/slack/blocks/channel-digest.ts). */
export function namesSummaryOf(call: RecordedCall, number: number): boolean {
  const text = String(call.args.text ?? '');
  return isFullSummaryOf(call, number) || (text.startsWith('Audit summaries:') && new RegExp(`(: |, )BG-${number}(,|$)`).test(text));
}

/** Audit summaries or digests naming the request that Slack took in a channel (top level, not in a thread). */
export function deliveredChannelSummaries(slack: FakeSlackApi, channel: string, number: number): RecordedCall[] {
  return slack.deliveredCallsOf('chat.postMessage').filter((call) => call.args.channel === channel && !call.args.thread_ts && namesSummaryOf(call, number));
}

/** Posts Slack took in the thread of the message `threadTs`. */
export function deliveredThreadReplies(slack: FakeSlackApi, channel: string, threadTs: string): RecordedCall[] {
  return slack.deliveredCallsOf('chat.postMessage').filter((call) => call.args.channel === channel && call.args.thread_ts === threadTs);
}

/**
 * Checks `check` every 50 ms for `ms`; fails at the first moment it does not hold, with `what` and what `check`
 * said. For "nothing comes back" assertions: a late grant must get the chance to show up before the test ends.
 * `check` returns true when all is well, or a string saying what is wrong.
 */
export async function holdsFor(check: () => Promise<true | string> | true | string, what: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const result = await check();
    if (result !== true) throw new Error(`${what} did not hold: ${result}`);
    if (Date.now() >= until) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
