import type { Logger } from 'pino';
import { type Explanation, formatExplanation } from './connection-errors';

/** How often a dependency that stays unreachable is mentioned again at warn level. */
export const OUTAGE_REMINDER_MS = 15 * 60_000;

/**
 * Says once, with what to check, that a dependency (Slack, Redis) cannot be reached, then stays quiet (debug) while
 * the clients retry, says so again every 15 minutes if it lasts, and once when it is back: no log line every few
 * seconds for as long as an outage lasts.
 */
export class OutageReporter {
  private down = false;
  private warnedAt = Number.NEGATIVE_INFINITY;
  private explaining = false;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'info' | 'debug'>,
    private readonly what: string,
    private readonly options: { remindEveryMs?: number; now?: () => number } = {},
  ) {}

  /** A failed attempt. `explain` runs only when a warning is due (it may probe the dependency). */
  failed(explain: () => Explanation | Promise<Explanation>, detail?: string): void {
    const now = (this.options.now ?? Date.now)();
    const due = !this.down || now - this.warnedAt >= (this.options.remindEveryMs ?? OUTAGE_REMINDER_MS);
    this.down = true;
    if (!due || this.explaining) {
      this.logger.debug({ detail }, `${this.what} still unreachable; retrying`);
      return;
    }
    this.warnedAt = now;
    this.explaining = true;
    void Promise.resolve()
      .then(explain)
      .then(
        (explanation) => this.logger.warn({ ...explanation }, `${formatExplanation(explanation)} Retrying quietly (next reminder in 15 minutes).`),
        () => this.logger.warn({ detail }, `${this.what} unreachable (${detail ?? 'unknown error'}); retrying quietly`),
      )
      .finally(() => {
        this.explaining = false;
      });
  }

  /** A successful attempt: logs once that the dependency is back, if it was down. */
  recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.warnedAt = Number.NEGATIVE_INFINITY;
    this.logger.info(`${this.what} reachable again`);
  }

  get isDown(): boolean {
    return this.down;
  }
}
