import type { Logger } from 'pino';
import type { DriftResult } from '../requests/drift-check';

/** How long after start the first run waits: long enough for the start-up reconcile to have put expiries back in
 * motion, short enough that a restart is followed by a check (grants may have changed while no bot ran). */
export const DRIFT_FIRST_RUN_DELAY_MS = 30_000;

/** Runs the drift check once shortly after start, then every `everyMs`, in each process that runs expiries. A
 * timer of its own, not a BullMQ job: the check must run even when Redis is away. One run at a time per process
 * (a slow target must not pile runs up); runs in several processes are safe (each piece of access is checked under
 * its advisory lock, and findings are recorded under it too). The timers do not keep the process alive. */
export class DriftSchedule {
  private firstRun: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly check: { run(): Promise<DriftResult> },
    private readonly logger: Logger,
    private readonly everyMs: number,
    private readonly firstRunDelayMs = DRIFT_FIRST_RUN_DELAY_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.firstRun = setTimeout(() => {
      this.firstRun = null;
      this.tick();
    }, this.firstRunDelayMs);
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.firstRun.unref();
    this.timer.unref();
  }

  /** No more runs; resolves once the one in progress (if any) has finished. */
  async stop(): Promise<void> {
    if (this.firstRun) clearTimeout(this.firstRun);
    if (this.timer) clearInterval(this.timer);
    this.firstRun = null;
    this.timer = null;
    await this.running;
  }

  /** The run in progress, if any (for tests and shutdown). */
  get inProgress(): Promise<void> | null {
    return this.running;
  }

  private tick(): void {
    this.running ??= this.check
      .run()
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err }, 'drift check failed; trying again on the next run'))
      .finally(() => (this.running = null));
  }
}
