import PQueue from 'p-queue';
import type { Queue, RunFunction } from 'p-queue/dist/queue';

/** Gives back a slot taken with `acquire`. Calling it again does nothing. */
export type Release = () => void;

export interface LimiterOptions {
  /** Start nothing until no acquire has arrived for this long (0: start at once). A burst is then let through only
   * once it is over, so whatever arrives in it (e.g. Slack acks) has the event loop first. */
  quietMs?: number;
  /** A waiter that has waited this long leaves the line and runs anyway, beside the limit: it holds no slot and frees
   * none when it ends (Infinity: wait for a slot however long). */
  maxWaitMs?: number;
  /** Told about each waiter that ran past the limit after `maxWaitMs`, with the counts just after it left the line. */
  onOverflow?: (stats: { running: number; waiting: number }) => void;
}

export interface AcquireOptions {
  /** Goes before every waiter that is not urgent (urgent ones keep their arrival order among themselves). */
  urgent?: boolean;
}

/** One acquire waiting in line. `cancel` is set by the queue: it takes the ticket out of line without a scan. */
interface Ticket {
  /** Gave up waiting (ran past the limit). */
  left: boolean;
  /** Was handed a slot. */
  started: boolean;
  cancel?: () => void;
}

interface LaneOptions {
  readonly [key: string]: unknown;
  priority?: number;
  ticket?: Ticket;
}

/** p-queue's line (its documented `queueClass`): two first-in-first-out lanes, urgent before normal. A ticket that
 * ran out of patience is skipped, so it neither counts in `size` nor takes a turn (a dead entry holding p-queue's slot
 * even briefly would delay the next waiter). */
class TwoLaneQueue implements Queue<RunFunction, LaneOptions> {
  private readonly urgent: Array<{ run: RunFunction; ticket?: Ticket }> = [];
  private readonly normal: Array<{ run: RunFunction; ticket?: Ticket }> = [];
  private live = 0;

  get size(): number {
    return this.live;
  }

  enqueue(run: RunFunction, options?: Partial<LaneOptions>): void {
    const ticket = options?.ticket;
    if (ticket) {
      ticket.cancel = () => {
        if (ticket.left) return;
        ticket.left = true;
        this.live--;
      };
    }
    ((options?.priority ?? 0) > 0 ? this.urgent : this.normal).push({ run, ticket });
    this.live++;
  }

  dequeue(): RunFunction | undefined {
    for (const lane of [this.urgent, this.normal]) {
      while (lane.length > 0) {
        const next = lane.shift();
        if (next?.ticket?.left) continue;
        this.live--;
        return next?.run;
      }
    }
    return undefined;
  }

  filter(options: Partial<LaneOptions>): RunFunction[] {
    const lane = (options.priority ?? 0) > 0 ? this.urgent : this.normal;
    return lane.filter((entry) => !entry.ticket?.left).map((entry) => entry.run);
  }
}

/**
 * The one slot mechanism of the process, on p-queue: at most `limit` holders at once, a freed slot passes to the
 * longest waiter (urgent ones first), never to a newcomer. Optionally it waits for quiet before starting anyone, and
 * lets a waiter that has waited `maxWaitMs` run past the limit, so hung holders delay others by at most that.
 *
 * A slot is a p-queue task that lasts until its holder releases it; p-queue hands the next slot out in the same step
 * as it counts the last one free, so a newcomer arriving in between queues behind the waiters.
 */
export class Limiter {
  private readonly queue: PQueue<TwoLaneQueue, LaneOptions>;
  private held = 0;
  private waiters = 0;
  private beyond = 0;
  private lastArrival = Number.NEGATIVE_INFINITY;
  private quietTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly limit: number,
    private readonly options: LimiterOptions = {},
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`Limiter limit must be a whole number of at least 1, not ${limit}`);
    this.queue = new PQueue({ concurrency: limit, queueClass: TwoLaneQueue });
  }

  /** Slots held right now. */
  get running(): number {
    return this.held;
  }

  /** Acquires still in line. */
  get waiting(): number {
    return this.waiters;
  }

  /** Waiters that ran out of patience and are running past the limit right now. */
  get pastLimit(): number {
    return this.beyond;
  }

  /** Waits for a slot and returns its release; with `maxWaitMs`, may instead resolve with a release that frees no slot
   * (the waiter runs past the limit). Release exactly once, also when the work fails. */
  acquire(options: AcquireOptions = {}): Promise<Release> {
    this.arrived();
    const maxWaitMs = this.options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    return new Promise<Release>((resolve) => {
      const ticket: Ticket = { left: false, started: false };
      let timer: NodeJS.Timeout | undefined;
      this.waiters++;
      const slot = () =>
        new Promise<void>((free) => {
          ticket.started = true;
          clearTimeout(timer);
          this.waiters--;
          this.held++;
          resolve(
            once(() => {
              this.held--;
              free();
            }),
          );
        });
      // Never rejects: `slot` cannot throw. When a slot is free (and no quiet period holds the line), p-queue starts
      // `slot` right here, before add returns.
      void this.queue.add(slot, { priority: options.urgent ? 1 : 0, ticket });
      if (ticket.started || !Number.isFinite(maxWaitMs)) return;
      timer = setTimeout(() => {
        ticket.cancel?.();
        this.waiters--;
        this.beyond++;
        this.options.onOverflow?.({ running: this.held, waiting: this.waiters });
        resolve(once(() => this.beyond--));
      }, maxWaitMs);
      // A waiter must not keep a stopped process alive.
      timer.unref();
    });
  }

  /** Runs `work` with a slot (or past the limit after `maxWaitMs`); resolves or rejects as `work` does. */
  async run<T>(work: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const release = await this.acquire(options);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** With a quiet period, each arrival holds the line back until none has come for `quietMs`. */
  private arrived(): void {
    const quietMs = this.options.quietMs ?? 0;
    if (quietMs <= 0) return;
    this.lastArrival = performance.now();
    this.queue.pause();
    if (!this.quietTimer) this.startWhenQuiet(quietMs);
  }

  private startWhenQuiet(quietMs: number): void {
    const quietFor = performance.now() - this.lastArrival;
    if (quietFor >= quietMs) {
      this.quietTimer = null;
      this.queue.start();
      return;
    }
    this.quietTimer = setTimeout(() => this.startWhenQuiet(quietMs), quietMs - quietFor);
    this.quietTimer.unref();
  }
}

function once(action: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
