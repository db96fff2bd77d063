import fs from 'node:fs';
import path from 'node:path';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/prisma';

/** How late past its expiry a grant counts as overdue in breakglass_grants_overdue. A burst of 10,000 expiries is
 * revoked within ~1 s at p99 (docs/benchmarks.md); a minute late is a broken promise, not a busy second. */
export const OVERDUE_GRACE_SECONDS = 60;
/** Scrape-time readings are reused for this long: several scrapers (two Prometheus replicas, a dashboard refresh)
 * cost one round of queries, not one each. */
export const SAMPLE_TTL_MS = 10_000;

/** The job states breakglass_queue_jobs reports. */
const JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** A reading taken at most once per SAMPLE_TTL_MS; concurrent scrapes share the one in flight. */
function sampled<T>(read: () => Promise<T>, ttlMs = SAMPLE_TTL_MS): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ttlMs) {
      const value = read();
      last = { at: now, value };
      // A failed reading is not kept: the next scrape tries again.
      value.catch(() => {
        if (last?.value === value) last = null;
      });
    }
    return last.value;
  };
}

export interface BuildInfo {
  version: string;
  /** BREAKGLASS_COMMIT (the image's build argument); "unknown" without it. */
  commit: string;
  nodeVersion: string;
}

/** The version in package.json (beside src/ in a checkout, beside dist/ in the image). */
export function buildInfo(commit: string | undefined): BuildInfo {
  let version = 'unknown';
  try {
    version = String(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')).version);
  } catch {
    // No package.json beside the code: a bundled copy. The version stays unknown.
  }
  return { version, commit: commit || 'unknown', nodeVersion: process.version };
}

export interface HealthMetricsOptions {
  registry: Registry;
  db: Db;
  logger: Logger;
  /** The expiry and reminder queues, by the label they get in breakglass_queue_jobs and breakglass_queue_workers. */
  queues: () => Record<string, Queue>;
  commit?: string;
  /** AUDIT_SEAL_BOUND, published so the alert compares breakglass_audit_oldest_unsealed_seconds with the bound the
   * bot runs with rather than a copy of it. */
  auditSealBoundMs: number;
  /** Whether this process runs the expiry worker: only then does it have a heartbeat series. */
  runsExpiries: boolean;
}

/**
 * What the alerts in deploy/prometheus/alerts.yml watch beyond breakglass-metrics.ts: overdue grants, the job queues
 * and their workers, this process's worker heartbeat, and build_info. Database and Redis readings are taken at scrape
 * time, at most once per SAMPLE_TTL_MS, with indexed queries (AccessRequest's (status, expiresAt) index) and
 * BullMQ's counters; every replica reports the same values (aggregate with max).
 */
export class HealthMetrics {
  private readonly heartbeat: Gauge | null;

  constructor({ registry, db, logger, queues, commit, runsExpiries, auditSealBoundMs }: HealthMetricsOptions) {
    const registers = [registry];
    const info = buildInfo(commit);
    new Gauge({
      name: 'breakglass_build_info',
      help: 'Always 1; the labels say which build runs: version (package.json), commit (BREAKGLASS_COMMIT) and the Node.js version.',
      labelNames: ['version', 'commit', 'node_version'],
      registers,
    }).set({ version: info.version, commit: info.commit, node_version: info.nodeVersion }, 1);

    new Gauge({
      name: 'breakglass_audit_seal_bound_seconds',
      help: 'AUDIT_SEAL_BOUND: how long an audit event may wait for the sealer; alert when breakglass_audit_oldest_unsealed_seconds exceeds it.',
      registers,
    }).set(auditSealBoundMs / 1000);

    const readOverdue = sampled(async () => {
      const [row] = await db.$queryRaw<Array<{ overdue: number; oldest: number | null }>>`
        SELECT count(*) FILTER (WHERE "expiresAt" < (now() AT TIME ZONE 'UTC') - make_interval(secs => ${OVERDUE_GRACE_SECONDS}))::int AS overdue,
               extract(epoch FROM (now() AT TIME ZONE 'UTC') - min("expiresAt"))::float8 AS oldest
        FROM "AccessRequest" WHERE status IN ('ACTIVE', 'REVOKING') AND "expiresAt" < (now() AT TIME ZONE 'UTC')`;
      return { overdue: row?.overdue ?? 0, oldest: Math.max(0, row?.oldest ?? 0) };
    });
    new Gauge({
      name: 'breakglass_grants_overdue',
      help: `Access still granted more than ${OVERDUE_GRACE_SECONDS}s after its expiry (ACTIVE or REVOKING past expiresAt; from the database at scrape time). Should be 0.`,
      registers,
      async collect() {
        try {
          this.set((await readOverdue()).overdue);
        } catch (err) {
          this.reset();
          logger.warn({ err }, 'could not count overdue grants for /metrics');
        }
      },
    });
    new Gauge({
      name: 'breakglass_grants_overdue_oldest_seconds',
      help: 'How long past its expiry the most overdue grant still is (0 when none; from the database at scrape time).',
      registers,
      async collect() {
        try {
          this.set((await readOverdue()).oldest);
        } catch (err) {
          this.reset();
          logger.warn({ err }, 'could not read overdue grants for /metrics');
        }
      },
    });

    const readQueues = sampled(async () => {
      const readings = await Promise.all(
        Object.entries(queues()).map(async ([label, queue]) => ({ label, counts: await queue.getJobCounts(...JOB_STATES), workers: await queue.getWorkersCount() })),
      );
      return readings;
    });
    new Gauge({
      name: 'breakglass_queue_jobs',
      help: 'Jobs in the BullMQ queues (expiry, reminder) by state: waiting, active, delayed, failed (from Redis at scrape time).',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        try {
          for (const { label, counts } of await readQueues()) for (const state of JOB_STATES) this.set({ queue: label, state }, counts[state] ?? 0);
        } catch (err) {
          logger.warn({ err: { message: (err as Error).message } }, 'could not count queued jobs for /metrics');
        }
      },
    });
    new Gauge({
      name: 'breakglass_queue_workers',
      help: 'Worker connections BullMQ sees on each queue, from every process (from Redis at scrape time). 0 on expiry: nobody revokes on time.',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        try {
          for (const { label, workers } of await readQueues()) this.set({ queue: label }, workers);
        } catch (err) {
          logger.warn({ err: { message: (err as Error).message } }, 'could not count queue workers for /metrics');
        }
      },
    });
    // Absent from web processes, so `absent()` and `max()` in the alerts see only processes that revoke.
    this.heartbeat = runsExpiries
      ? new Gauge({
          name: 'breakglass_worker_heartbeat_timestamp_seconds',
          help: "When this process's expiry worker last showed it was running (Unix time; every 5s). Only worker and all processes have it.",
          registers,
        })
      : null;
  }

  /** The expiry worker of this process is running (called every few seconds by the workers' lifecycle step). */
  workerBeat(at = Date.now()): void {
    this.heartbeat?.set(at / 1000);
  }
}
