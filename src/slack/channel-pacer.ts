import { retryWhenRateLimited } from './rate-limit-retry';
import type { SlackMessage } from './blocks/message';

/** One chat.postMessage. */
export type SendMessage = (channel: string, message: SlackMessage, threadTs?: string) => Promise<{ ts: string }>;

interface WaitingPost {
  message: SlackMessage;
  threadTs?: string;
  /** Goes ahead of the channel's waiting posts that are not `first` (audit summaries ahead of thread replies). */
  first: boolean;
  resolve: (posted: { ts: string }) => void;
  reject: (err: unknown) => void;
}

/**
 * Paces chat.postMessage per channel, as Slack allows about one message per second per channel. A channel's posts
 * (thread replies included) go out one at a time, in order, at least `intervalMs` apart; other channels are not held
 * up. A 429 holds back only its channel, for as long as Retry-After says. Posts marked `first` (audit summaries) go
 * ahead of the channel's other waiting posts (thread replies), so the channel's record of what ended is not queued
 * behind a burst of replies. What waits here is only what the effect
 * runners are delivering right now (a bounded number): the outbox keeps the rest, so nothing is lost with the process.
 */
export class ChannelPacer {
  /** The posts waiting in each channel; a channel is here while its posts are being worked off. */
  private readonly waiting = new Map<string, WaitingPost[]>();

  constructor(
    private readonly send: SendMessage,
    private readonly intervalMs = 1000,
  ) {}

  post(channel: string, message: SlackMessage, threadTs?: string, { first = false }: { first?: boolean } = {}): Promise<{ ts: string }> {
    return new Promise((resolve, reject) => {
      const post = { message, threadTs, first, resolve, reject };
      const queue = this.waiting.get(channel);
      if (!queue) {
        this.waiting.set(channel, [post]);
        void this.workOff(channel);
      } else if (first) {
        // Behind the other `first` posts, ahead of the rest: order among each kind is kept.
        const at = queue.findIndex((waiting) => !waiting.first);
        queue.splice(at < 0 ? queue.length : at, 0, post);
      } else {
        queue.push(post);
      }
    });
  }

  private async workOff(channel: string): Promise<void> {
    const queue = this.waiting.get(channel)!;
    while (queue.length > 0) {
      const post = queue.shift()!;
      try {
        post.resolve(await retryWhenRateLimited(() => this.send(channel, post.message, post.threadTs)));
      } catch (err) {
        post.reject(err);
      }
      // Also after the last post: one arriving meanwhile must still keep its distance. Unref'd, as in
      // retryWhenRateLimited: waiting posts do not keep a stopped bot's process alive.
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs).unref());
    }
    this.waiting.delete(channel);
  }
}
