import { Limiter } from '../concurrency/limiter';

/** How long a follow-up waits for a slot before it runs anyway (see FollowUpGate). */
export const DEFAULT_FOLLOW_UP_MAX_WAIT_MS = 1_000;
/** How long no follow-up must have arrived before one starts (see FollowUpGate). */
export const DEFAULT_FOLLOW_UP_QUIET_MS = 20;

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
  private readonly limiter: Limiter;

  constructor(
    limit: number,
    options: {
      maxWaitMs?: number;
      quietMs?: number;
      /** Told about each follow-up that ran past the limit after waiting `maxWaitMs` (for a log line). */
      onOverflow?: (stats: { running: number; waiting: number }) => void;
    } = {},
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`FollowUpGate limit must be a whole number of at least 1, not ${limit}`);
    this.limiter = new Limiter(limit, {
      quietMs: options.quietMs ?? DEFAULT_FOLLOW_UP_QUIET_MS,
      maxWaitMs: options.maxWaitMs ?? DEFAULT_FOLLOW_UP_MAX_WAIT_MS,
      onOverflow: options.onOverflow,
    });
  }

  /** Runs `work` once it has its turn, or once it has waited `maxWaitMs`; resolves or rejects as `work` does. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return this.limiter.run(work);
  }
}
