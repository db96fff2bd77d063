/** How long a follow-up waits for a slot before it runs anyway (see FollowUpGate). */
export const DEFAULT_FOLLOW_UP_MAX_WAIT_MS = 1_000;

interface Waiter {
  /** Hands this waiter a slot. */
  start(): void;
  timer?: NodeJS.Timeout;
}

/**
 * A per-process bulkhead for what Slack listeners do after their ack (the service call, Slack posts, the answer), so
 * that a burst of clicks cannot fill the event loop with follow-up work while later clicks still wait for their ack.
 *
 * - At most `limit` follow-ups hold a slot at once. The others wait in arrival order; a slot that is freed passes
 *   straight to the longest waiter, so a newcomer cannot take it in between and exceed the limit.
 * - No follow-up waits more than `maxWaitMs`: one that has waited that long leaves the line and runs anyway, beside
 *   the limit (it holds no slot, and frees none when it ends). Slots held by a hung call (a provider may take 60 s)
 *   therefore delay other clicks by at most `maxWaitMs`; they never freeze them.
 * - A follow-up that throws frees its slot like one that returns; `run` rejects with its error.
 */
export class FollowUpGate {
  private running = 0;
  /** In arrival order (a Set keeps insertion order, and a waiter that times out leaves it in O(1)). */
  private readonly waiting = new Set<Waiter>();

  constructor(
    private readonly limit: number,
    private readonly options: {
      maxWaitMs?: number;
      /** Told about each follow-up that ran past the limit after waiting `maxWaitMs` (for a log line). */
      onOverflow?: (stats: { running: number; waiting: number }) => void;
    } = {},
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`FollowUpGate limit must be a whole number of at least 1, not ${limit}`);
  }

  /** Runs `work` once it has a slot, or once it has waited `maxWaitMs`; resolves or rejects as `work` does. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    let holdsSlot = true;
    if (this.running < this.limit) this.running++;
    else holdsSlot = await this.queue();
    try {
      return await work();
    } finally {
      if (holdsSlot) this.release();
    }
  }

  /** Waits in line: true when handed a slot, false when the wait ran out first. */
  private queue(): Promise<boolean> {
    const maxWaitMs = this.options.maxWaitMs ?? DEFAULT_FOLLOW_UP_MAX_WAIT_MS;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          resolve(true);
        },
      };
      if (Number.isFinite(maxWaitMs)) {
        waiter.timer = setTimeout(() => {
          this.waiting.delete(waiter);
          this.options.onOverflow?.({ running: this.running, waiting: this.waiting.size });
          resolve(false);
        }, maxWaitMs);
        // A waiting follow-up must not keep a stopped bot's process alive.
        waiter.timer.unref();
      }
      this.waiting.add(waiter);
    });
  }

  /** Hands the slot to the longest waiter, if any (the running count stays the same), or gives it back. */
  private release(): void {
    const [next] = this.waiting;
    if (next) {
      this.waiting.delete(next);
      next.start();
    } else {
      this.running--;
    }
  }
}
