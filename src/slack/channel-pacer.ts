import { retryWhenRateLimited } from './rate-limit-retry';
import { groupWithinBlockLimit, mergeSummaries } from './summary-batches';
import type { SlackMessage } from './blocks/message';

/** One chat.postMessage. */
export type SendMessage = (channel: string, message: SlackMessage, threadTs?: string) => Promise<{ ts: string }>;

interface WaitingPost {
  message: SlackMessage;
  threadTs?: string;
  /** Audit summaries waiting together go out merged. */
  isSummary: boolean;
  resolve: (posted: { ts: string }) => void;
  reject: (err: unknown) => void;
}

/**
 * Paces chat.postMessage per channel, as Slack allows about one message per second per channel. A channel's posts
 * (thread replies included) go out one at a time, in order, at least `intervalMs` apart; other channels are not held
 * up. A 429 holds back only its channel, for as long as Retry-After says. Audit summaries waiting in a channel go
 * out before its other waiting posts, merged into one message (split at Slack's block limit).
 */
export class ChannelPacer {
  /** The posts waiting in each channel; a channel is here while its posts are being worked off. */
  private readonly waiting = new Map<string, WaitingPost[]>();

  constructor(
    private readonly send: SendMessage,
    private readonly intervalMs = 1000,
  ) {}

  post(channel: string, message: SlackMessage, threadTs?: string): Promise<{ ts: string }> {
    return this.enqueue(channel, { message, threadTs, isSummary: false });
  }

  async postSummary(channel: string, message: SlackMessage): Promise<void> {
    await this.enqueue(channel, { message, isSummary: true });
  }

  private enqueue(channel: string, post: Omit<WaitingPost, 'resolve' | 'reject'>): Promise<{ ts: string }> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(channel);
      if (queue) {
        queue.push({ ...post, resolve, reject });
      } else {
        this.waiting.set(channel, [{ ...post, resolve, reject }]);
        void this.workOff(channel);
      }
    });
  }

  private async workOff(channel: string): Promise<void> {
    const queue = this.waiting.get(channel)!;
    while (queue.length > 0) {
      // Waiting summaries go first, all together: when many grants expire at once, the channel's record of what
      // ended must not wait behind every thread reply queued before it.
      const summaries = takeSummaries(queue);
      const messages = summaries.length > 0 ? groupWithinBlockLimit(summaries) : [[queue.shift()!]];
      for (const posts of messages) {
        await this.sendAsOne(channel, posts);
        // Also after the last post: one arriving meanwhile must still keep its distance. Unref'd, as in
        // retryWhenRateLimited: waiting posts do not keep a stopped bot's process alive.
        await new Promise((resolve) => setTimeout(resolve, this.intervalMs).unref());
      }
    }
    this.waiting.delete(channel);
  }

  /** Sends `posts` as one message (several only ever being summaries) and settles each with the outcome. */
  private async sendAsOne(channel: string, posts: WaitingPost[]): Promise<void> {
    try {
      const message = mergeSummaries(posts.map((post) => post.message));
      const posted = await retryWhenRateLimited(() => this.send(channel, message, posts[0].threadTs));
      for (const post of posts) post.resolve(posted);
    } catch (err) {
      for (const post of posts) post.reject(err);
    }
  }
}

/** Removes the summaries from `queue` and returns them, in order. */
function takeSummaries(queue: WaitingPost[]): WaitingPost[] {
  const summaries = queue.filter((post) => post.isSummary);
  const others = queue.filter((post) => !post.isSummary);
  queue.splice(0, queue.length, ...others);
  return summaries;
}
