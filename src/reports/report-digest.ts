import type { Logger } from 'pino';
import type { Db } from '../db/prisma';
import { latestSlot } from '../domain/report-schedule';
import { writeEffects } from '../effects/outbox';
import type { ReportSettings } from '../policy/types';

/** What the digest effect carries: the period only; the report is computed when it is delivered. */
export interface DigestPayload {
  runId: string;
  channel: string;
  since: string;
  until: string;
}

export const DIGEST_EFFECT = 'report.digest';

/**
 * Commits the digest of the latest period that is due, if no process has yet: the ReportRun row (unique by the
 * period's end) and the Slack effect in one transaction, so it is posted once however many processes call this and
 * however often. After downtime only the latest due period is posted, covering everything since the previous
 * digest (nothing goes unreported, and the channel gets one catch-up, not one per missed period).
 * Returns the run committed, or null when there was nothing to do.
 */
export async function commitDueDigest(db: Db, settings: ReportSettings, now: Date): Promise<DigestPayload | null> {
  const slot = latestSlot(settings.schedule, now);
  return db.$transaction(async (tx) => {
    const previous = await tx.reportRun.findFirst({ orderBy: { periodEnd: 'desc' } });
    // Posted already (or a later one was: the clock or the schedule moved back).
    if (previous && previous.periodEnd.getTime() >= slot.end.getTime()) return null;
    const since = previous ? previous.periodEnd : slot.start;
    const inserted = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO "ReportRun" ("id", "periodEnd", "periodStart", "channelId")
      VALUES (gen_random_uuid(), (${slot.end.toISOString()}::timestamptz AT TIME ZONE 'UTC'), (${since.toISOString()}::timestamptz AT TIME ZONE 'UTC'), ${settings.channel})
      ON CONFLICT ("periodEnd") DO NOTHING
      RETURNING "id"::text AS id`;
    if (inserted.length === 0) return null; // another process committed it a moment ago
    const payload: DigestPayload = { runId: inserted[0].id, channel: settings.channel, since: since.toISOString(), until: slot.end.toISOString() };
    await writeEffects(tx, [{ pool: 'slack', lane: `report:${settings.channel}`, kind: DIGEST_EFFECT, payload: { ...payload } }]);
    return payload;
  });
}

/** How often a process looks whether a digest is due: the database decides whether one is, so this only bounds
 * how late after its time a digest goes out. */
export const DIGEST_CHECK_EVERY_MS = 60_000;

/**
 * The alarm clock: looks at start (catching up a period missed while no bot ran) and then every `checkEveryMs`.
 * Runs in every process that runs expiries; ReportRun's unique key makes them agree. The timer does not keep the
 * process alive.
 */
export class DigestSchedule {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: {
      db: Db;
      settings: ReportSettings;
      logger: Logger;
      /** Wakes the Slack runner once a digest is committed. */
      committed: () => void;
      now?: () => Date;
      checkEveryMs?: number;
    },
  ) {}

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.deps.checkEveryMs ?? DIGEST_CHECK_EVERY_MS);
    this.timer.unref();
    await this.check();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One look; never throws (a failed look is logged and the next one tries again). */
  check(): Promise<void> {
    this.running ??= commitDueDigest(this.deps.db, this.deps.settings, this.deps.now?.() ?? new Date())
      .then((run) => {
        if (!run) return;
        this.deps.logger.info({ since: run.since, until: run.until, channel: run.channel }, 'review digest due: committed');
        this.deps.committed();
      })
      .catch((err: unknown) => this.deps.logger.error({ err }, 'could not check whether a review digest is due; trying again on the next check'))
      .finally(() => (this.running = null));
    return this.running;
  }
}
