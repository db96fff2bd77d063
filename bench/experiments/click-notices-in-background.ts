/**
 * Experiment (not a change): clicks that do not wait for their Slack notices. Today AccessService.approve (and deny,
 * revoke now) awaits RequestNotifier.approvalRecorded / granted / denied / revokeRequested, and those wait for their
 * thread replies to go out through the channel's pacer (one post a second per channel), so a click's follow-up, and
 * the grant itself, wait behind the channel's queued posts. Here those notices run in the background instead
 * (RequestNotifier.inBackground, as revocations do), so a follow-up holds its FollowUpGate slot only for its own
 * work. Loaded into the bot process with BENCH_BOT_PATCH:
 *
 *   BENCH_BOT_PATCH=bench/experiments/click-notices-in-background.ts npm run bench -- ack
 *
 * The thread replies keep their order: each notice enqueues its posts before it first waits.
 */
import { RequestNotifier } from '../../src/services/request-notifier';

for (const name of ['approvalRecorded', 'granted', 'denied', 'revokeRequested'] as const) {
  const notice = RequestNotifier.prototype[name] as (this: RequestNotifier, ...args: unknown[]) => Promise<void>;
  (RequestNotifier.prototype[name] as unknown) = async function (this: RequestNotifier, ...args: unknown[]): Promise<void> {
    this.inBackground(() => notice.apply(this, args));
  };
}
