/** How long a follow-up waits for a slot before it runs anyway (see FollowUpGate). */
export const DEFAULT_FOLLOW_UP_MAX_WAIT_MS = 1_000;
/** How long no follow-up must have arrived before one starts (see FollowUpGate). */
export const DEFAULT_FOLLOW_UP_QUIET_MS = 20;

interface Waiter {
  /** Hands this waiter a slot. */
  start(): void;
  timer?: NodeJS.Timeout;
}

/**
 * A per-process bulkhead for what Slack listeners do after their ack (the service call, Slack posts, the answer), so
 * that a burst of clicks cannot fill the event loop with follow-up work while later clicks still wait for their ack.
 *
 * - At most `limit` follow-ups hold a slot at once, and they start in arrival order: a slot that is freed passes to
 *   the longest waiter, never to a newcomer.
 * - A follow-up starts only once no other has arrived for `quietMs`. Each arrives right after its ack, so while a
 *   burst is still being acked nothing starts, and the acks have the event loop to themselves; a lone click waits
 *   `quietMs` more for its answer.
 * - No follow-up waits more than `maxWaitMs`: one that has waited that long leaves the line and runs anyway, beside
 *   the limit (it holds no slot, and frees none when it ends). Slots held by a hung call (a provider may take 60 s),
 *   or clicks that never stop arriving, therefore delay a follow-up by at most `maxWaitMs`; they never freeze it.
 * - A follow-up that throws frees its slot like one that returns; `run` rejects with its error.
 */
export class FollowUpGate {
  private running = 0;
  /** In arrival order (a Set keeps insertion order, and a waiter that times out leaves it in O(1)). */
  private readonly waiting = new Set<Waiter>();
  private lastArrival = Number.NEGATIVE_INFINITY;
  /** Set while the gate waits for quiet before starting more. */
  private quietTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly limit: number,
    private readonly options: {
      maxWaitMs?: number;
      quietMs?: number;
      /** Told about each follow-up that ran past the limit after waiting `maxWaitMs` (for a log line). */
      onOverflow?: (stats: { running: number; waiting: number }) => void;
    } = {},
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`FollowUpGate limit must be a whole number of at least 1, not ${limit}`);
  }

  /** Runs `work` once it has its turn, or once it has waited `maxWaitMs`; resolves or rejects as `work` does. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.lastArrival = performance.now();
    const holdsSlot = await this.queue();
    try {
      return await work();
    } finally {
      if (holdsSlot) {
        this.running--;
        this.startWaiting();
      }
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
      this.startWaiting();
    });
  }

  /** Gives free slots to the longest waiters if it has been quiet for `quietMs`; otherwise looks again then. */
  private startWaiting(): void {
    if (this.waiting.size === 0 || this.running >= this.limit || this.quietTimer) return;
    const quietFor = performance.now() - this.lastArrival;
    const quietMs = this.options.quietMs ?? DEFAULT_FOLLOW_UP_QUIET_MS;
    if (quietFor < quietMs) {
      this.quietTimer = setTimeout(() => {
        this.quietTimer = null;
        this.startWaiting();
      }, quietMs - quietFor);
      this.quietTimer.unref();
      return;
    }
    for (const next of this.waiting) {
      if (this.running >= this.limit) break;
      this.waiting.delete(next);
      this.running++;
      next.start();
    }
  }
}
