import type { Db, Prisma } from '../db/prisma';
import { scrubSecrets, type Logger } from '../logger';
import { GiveUp, RetryLater } from './effect-errors';
import { backlog, claimLanes, recordFailure, releaseLeases, settle, type Backlog } from './effect-sql';
import type { EffectRow } from './outbox';
import { DEFAULT_LIVENESS_MS } from './runner-beat';

export { RunnerBeat } from './runner-beat';
export type { Backlog } from './effect-sql';

export interface EffectHandler {
  /** Delivers the effects (one, or a batch of consecutive same-kind effects of one lane). Resolving settles them
   * all; RetryLater / GiveUp / any other error applies to them all. May run more than once for an effect. */
  deliver(effects: EffectRow[]): Promise<void>;
  /** Consecutive same-kind effects of a lane handed over together, at most; default 1. */
  batch?: number;
}

export interface EffectRunnerOptions {
  db: Db;
  logger: Logger;
  /** Claims only effects of this pool. */
  pool: string;
  /** Shared by the runners of one process, and beaten by its RunnerBeat. */
  processId: string;
  /** Lanes in delivery at once, at most. */
  concurrency: number;
  /** By kind. An effect of a kind with no handler is given up, with an error that says so. */
  handlers: Record<string, EffectHandler>;
  /** Awaited before each claim: a pool that must give way to more urgent work (an expiry burst) claims nothing, and
   * so reads nothing, until it resolves. */
  ready?: () => Promise<void>;
  /** A condition under which the pool's claims take nothing (e.g. a burst of expiries in any process), checked inside
   * the claim statement itself, so it costs no statement of its own; the runner tries again at its next poll. */
  holdWhile?: Prisma.Sql;
  /** Idle poll, default 1000: effects committed by other processes, and retries falling due. */
  pollMs?: number;
  /** The RunnerBeat's livenessMs (same value): leases of processes silent for longer are free. */
  livenessMs?: number;
  onDelivered?(kind: string, count: number): void;
  onFailed?(kind: string, error: unknown): void;
  onGaveUp?(kind: string): void;
  /** Each claim's size (lanes, effects), e.g. to watch that reads stay bounded. */
  onClaimed?(lanes: number, effects: number): void;
}

const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 5 * 60_000;
/** The database being unreachable: retry the claim (or the bookkeeping of a delivery) soon, but not in a loop. */
const DB_RETRY_FIRST_MS = 200;
const DB_RETRY_MAX_MS = 10_000;

/** 1 s doubling up to 5 min, ±20 % so lanes that failed together do not come back together. */
export function backoffMs(attemptsBefore: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attemptsBefore, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How a delivery ended, for the bookkeeping that follows it. */
type Outcome = { settled: true; gaveUp: boolean; lastError: string | null } | { settled: false; delayMs: number; lastError: string };

/**
 * Delivers the effects of one pool, at least once: claims lane heads (at most `concurrency` lanes at a time, each
 * lane one delivery at a time in id order), hands them to the kind's handler, settles or reschedules them, and
 * keeps a lane while it has due effects. Knows nothing about what the effects do.
 */
export class EffectRunner {
  private readonly pollMs: number;
  private readonly livenessMs: number;
  private readonly batchSizes = new Map<string, number>();
  private inFlight = 0;
  /** Ids leased by this runner and not yet settled or released: what stop() releases. */
  private readonly held = new Set<bigint>();
  private readonly lanes = new Set<Promise<void>>();
  /** The claim loop in flight, if any (one at a time). */
  private claiming: Promise<void> | null = null;
  private wokenWhileClaiming = false;
  /** The last claim filled every free slot, so more may be waiting: claim again when a slot frees. */
  private moreMayWait = true;
  private claimFailures = 0;
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private started = false;
  private stopped = false;

  constructor(private readonly o: EffectRunnerOptions) {
    if (!(o.concurrency >= 1)) throw new Error('EffectRunner: concurrency must be at least 1');
    this.pollMs = o.pollMs ?? 1_000;
    this.livenessMs = o.livenessMs ?? DEFAULT_LIVENESS_MS;
    for (const [kind, handler] of Object.entries(o.handlers)) {
      const batch = Math.floor(handler.batch ?? 1);
      if (batch > 1) this.batchSizes.set(kind, batch);
    }
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.wake(), this.pollMs);
    this.pollTimer.unref();
    this.wake();
  }

  /** Claims now (call after committing effects in this process). Wake-ups coalesce: one claim at a time, run once
   * more if woken meanwhile. */
  wake(): void {
    if (!this.started || this.stopped) return;
    if (this.inFlight >= this.o.concurrency) {
      this.moreMayWait = true;
      return;
    }
    if (this.claiming) {
      this.wokenWhileClaiming = true;
      return;
    }
    this.claiming = this.claimLoop()
      .catch((err: unknown) => this.o.logger.error({ err, pool: this.o.pool }, 'effect runner: claim loop failed unexpectedly'))
      .finally(() => {
        this.claiming = null;
        // A wake-up between the loop's last check and here would otherwise be lost.
        if (this.wokenWhileClaiming) this.wake();
      });
  }

  /** No new claims; waits up to graceMs for deliveries in flight, then releases every lease this runner still
   * holds (effects in a delivery that outlives the grace may then be delivered again elsewhere: at least once). */
  async stop(graceMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([this.claiming, ...this.lanes]), grace]);
    clearTimeout(graceTimer);
    const ids = [...this.held];
    this.held.clear();
    try {
      await releaseLeases(this.o.db, this.o.processId, ids);
    } catch (err) {
      this.o.logger.warn({ err, pool: this.o.pool, leases: ids.length }, 'effect runner: could not release its leases; they free up once the process stops beating');
    }
  }

  /** Undelivered effects of the pool and the age of the oldest, for metrics and readiness. */
  backlog(): Promise<Backlog> {
    return backlog(this.o.db, this.o.pool);
  }

  private async claimLoop(): Promise<void> {
    await this.o.ready?.();
    do {
      this.wokenWhileClaiming = false;
      const free = this.o.concurrency - this.inFlight;
      if (free <= 0 || this.stopped) return;
      let claimed: EffectRow[][];
      try {
        claimed = await this.claim({ limit: free });
        this.claimFailures = 0;
      } catch (err) {
        // The database is down or refused: log, and try again after a short, growing pause (or at the next poll).
        this.claimFailures += 1;
        this.wokenWhileClaiming = false; // the retry below stands for them; an immediate one would spin
        const delay = Math.min(DB_RETRY_MAX_MS, DB_RETRY_FIRST_MS * 2 ** Math.min(this.claimFailures - 1, 10));
        this.o.logger.error({ err, pool: this.o.pool, retryInMs: delay }, 'effect runner: claiming effects failed');
        this.wakeIn(delay);
        return;
      }
      this.moreMayWait = claimed.length >= free;
      if (this.stopped) return; // stop() releases what this last claim leased
      for (const lane of claimed) this.startLane(lane);
    } while (this.wokenWhileClaiming);
  }

  private async claim(extra: { limit: number; lane?: string; settle?: { ids: bigint[]; gaveUp: boolean; lastError: string | null } }): Promise<EffectRow[][]> {
    const lanes = await claimLanes(this.o.db, {
      pool: this.o.pool,
      processId: this.o.processId,
      livenessMs: this.livenessMs,
      batchSizes: this.batchSizes,
      holdWhile: this.o.holdWhile,
      ...extra,
    });
    let effects = 0;
    for (const lane of lanes) {
      for (const effect of lane) this.held.add(effect.id);
      effects += lane.length;
    }
    if (extra.settle) for (const id of extra.settle.ids) this.held.delete(id);
    if (lanes.length) this.o.onClaimed?.(lanes.length, effects);
    return lanes;
  }

  private startLane(first: EffectRow[]): void {
    this.inFlight += 1;
    const lane = this.runLane(first)
      .catch((err: unknown) => this.o.logger.error({ err, pool: this.o.pool }, 'effect runner: lane failed unexpectedly'))
      .finally(() => {
        this.lanes.delete(lane);
        this.inFlight -= 1;
        if (this.moreMayWait) this.wake();
      });
    this.lanes.add(lane);
  }

  /** Delivers the lane's claimed effects, then its next head while there is one, until a failure or stop. */
  private async runLane(first: EffectRow[]): Promise<void> {
    let effects = first;
    while (effects.length > 0) {
      const ids = effects.map((e) => e.id);
      if (this.stopped) {
        // Leased by a claim that finished as the runner stopped: hand them back rather than deliver during shutdown.
        await this.persist(() => releaseLeases(this.o.db, this.o.processId, ids));
        for (const id of ids) this.held.delete(id);
        return;
      }
      const outcome = await this.deliver(effects);
      if (!outcome.settled) {
        await this.persist(() => recordFailure(this.o.db, this.o.processId, ids, outcome.delayMs, outcome.lastError));
        for (const id of ids) this.held.delete(id);
        if (outcome.delayMs < this.pollMs) this.wakeIn(outcome.delayMs); // sooner than the poll would
        return;
      }
      if (this.stopped) {
        await this.persist(() => settle(this.o.db, ids, outcome.gaveUp, outcome.lastError));
        for (const id of ids) this.held.delete(id);
        return;
      }
      // Settle and lease the lane's next head in one statement: no other runner can slip in between.
      const next = await this.persist(() => this.claim({ limit: 1, lane: effects[0].lane, settle: { ids, ...outcome } }));
      effects = next?.[0] ?? [];
    }
  }

  /** Runs the handler; never throws. */
  private async deliver(effects: EffectRow[]): Promise<Outcome> {
    const kind = effects[0].kind;
    const handler = Object.hasOwn(this.o.handlers, kind) ? this.o.handlers[kind] : undefined;
    const context = { pool: this.o.pool, kind, lane: effects[0].lane, ids: effects.map((e) => String(e.id)) };
    try {
      if (!handler) throw new GiveUp(`no handler for effect kind '${kind}' in pool '${this.o.pool}'`);
      await handler.deliver(effects); // a synchronous throw lands in the catch below as well
    } catch (err) {
      const lastError = scrubSecrets(err instanceof Error ? err.message : String(err)).slice(0, 2_000);
      if (err instanceof GiveUp) {
        this.o.logger.warn({ ...context, reason: lastError }, 'effect runner: handler gave up; effect settled undelivered');
        this.callback(() => this.o.onGaveUp?.(kind));
        return { settled: true, gaveUp: true, lastError };
      }
      this.callback(() => this.o.onFailed?.(kind, err));
      if (err instanceof RetryLater) {
        this.o.logger.info({ ...context, retryInMs: err.afterMs, reason: lastError }, 'effect runner: delivery deferred');
        return { settled: false, delayMs: Math.max(0, err.afterMs), lastError };
      }
      const delayMs = backoffMs(effects[0].attempts);
      this.o.logger.warn({ ...context, err, attempts: effects[0].attempts + 1, retryInMs: delayMs }, 'effect runner: delivery failed; will retry');
      return { settled: false, delayMs, lastError };
    }
    this.callback(() => this.o.onDelivered?.(kind, effects.length));
    return { settled: true, gaveUp: false, lastError: null };
  }

  /** Database bookkeeping after a delivery: retried until it succeeds (the lease would otherwise hold the lane
   * until this process stops), or given up once the runner is stopped (its leases are released then). */
  private async persist<T>(write: () => Promise<T>): Promise<T | undefined> {
    for (let failures = 0; ; failures += 1) {
      try {
        return await write();
      } catch (err) {
        this.o.logger.error({ err, pool: this.o.pool }, 'effect runner: recording a delivery failed; retrying');
        if (this.stopped) return undefined;
        await sleep(Math.min(DB_RETRY_MAX_MS, DB_RETRY_FIRST_MS * 2 ** Math.min(failures, 10)));
      }
    }
  }

  private wakeIn(ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wake();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** Metrics callbacks must not turn a delivery into a failure. */
  private callback(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.o.logger.warn({ err }, 'effect runner: a metrics callback threw');
    }
  }
}
