import type { Db } from '../db/prisma';
import type { Logger } from '../logger';
import { beat, endBeat } from './effect-sql';

export const DEFAULT_LIVENESS_MS = 30_000;

/**
 * Keeps this process's EffectRunnerBeat row fresh. Leases carry the process id, and a lease whose process has not
 * beaten within livenessMs is free: that is how the effects of a crashed process get delivered by another one.
 * One per process, shared by all its EffectRunners (same processId, same livenessMs).
 */
export class RunnerBeat {
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  /** The beat in flight: a slow database gets one beat at a time, not a queue of them. */
  private beating: Promise<void> | null = null;
  private readonly livenessMs: number;
  private readonly logger?: Logger;

  constructor(
    private readonly db: Db,
    private readonly processId: string,
    options: { livenessMs?: number; logger?: Logger } = {},
  ) {
    this.livenessMs = options.livenessMs ?? DEFAULT_LIVENESS_MS;
    this.logger = options.logger;
  }

  /** Resolves once the first beat is written (or failed and was logged): await it before starting the runners,
   * or their first leases could look abandoned to other processes. */
  async start(): Promise<void> {
    if (this.timer) return;
    this.started = true;
    // Three beats per liveness period: one late or failed beat does not free this process's leases.
    this.timer = setInterval(() => void this.beatOnce(), Math.max(1, Math.floor(this.livenessMs / 3)));
    this.timer.unref(); // the beat must not keep a process alive that has nothing else to do
    await this.beatOnce();
  }

  /** Stops beating and leaves the row as it is: what a crashed process looks like to the others (for tests). */
  halt(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops beating and deletes the row, so leases this process still holds are free at once. Stop the runners
   * first: their stop() releases what they hold, and nothing is left for others to wait for. */
  async stop(): Promise<void> {
    // Never started (a start that failed before it): there is no row to delete.
    if (!this.started) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.beating; // a beat in flight must not write the row again after it is deleted
      await endBeat(this.db, this.processId);
    } catch (err) {
      this.logger?.warn({ err, processId: this.processId }, 'effect runner beat: could not delete the beat; its leases free up after livenessMs');
    }
  }

  private beatOnce(): Promise<void> {
    this.beating ??= beat(this.db, this.processId)
      .catch((err: unknown) => this.logger?.warn({ err, processId: this.processId }, 'effect runner beat failed; will try again'))
      .finally(() => {
        this.beating = null;
      });
    return this.beating;
  }
}
