import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/prisma';
import type { Policy } from '../policy/types';
import type { AccessMetrics, RequestMove } from './access-metrics';

const DRIFT_KINDS = ['reappeared', 'missing'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

const OUTCOMES = ['approved', 'granted', 'denied', 'withdrawn', 'timed_out', 'failed', 'expired', 'revoked'] as const;

/** The label a status change counts under in breakglass_requests_total; intermediate steps (REVOKING) count nowhere. */
function outcomeOf(move: RequestMove): (typeof OUTCOMES)[number] | null {
  switch (move.to) {
    case 'APPROVED':
      return 'approved';
    case 'ACTIVE':
      return 'granted';
    case 'DENIED':
      return move.action === 'WITHDRAWN' ? 'withdrawn' : 'denied';
    case 'TIMED_OUT':
      return 'timed_out';
    case 'FAILED':
      return 'failed';
    case 'EXPIRED':
      return 'expired';
    case 'REVOKED':
      return 'revoked';
    default:
      return null;
  }
}

const seconds = (from: Date, to: Date) => Math.max(0, (to.getTime() - from.getTime()) / 1000);

/**
 * The bot's Prometheus metrics, in a registry of its own (several bots can share a test process). Counters and
 * histograms count what this process did, so Prometheus sums them over replicas; the gauges are read from the
 * database at scrape time, so every replica reports the same value (aggregate them with max, not sum).
 */
export class BreakglassMetrics implements AccessMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'outcome' | 'resource' | 'role'>;
  private readonly timeToApprove: Histogram<'resource' | 'role'>;
  private readonly revocationLag: Histogram<'resource'>;
  private readonly revocationFailures: Counter<'resource'>;
  private readonly slackErrors: Counter<'method' | 'error'>;
  private readonly followUpsPastLimit: Counter;
  private readonly effects: Counter<'pool' | 'kind' | 'outcome'>;
  private readonly driftFindings: Counter<'resource' | 'kind'>;
  private readonly driftErrors: Counter<'resource'>;
  private readonly driftLastRun: Gauge<'kind'>;
  private readonly driftLastRunAt: Gauge;
  private readonly auditEventsSealed: Counter;
  private readonly emergencyGrants: Counter<'resource' | 'role'>;

  constructor(db: Db, policy: Policy, logger: Logger) {
    const registers = [this.registry];
    // Every role of the policy has a series from the start (0 rather than absent), so dashboards and alerts on
    // rates see a role that has never been used.
    const policyRoles = policy.resources.flatMap((resource) => resource.roles.map((role) => ({ resource: resource.id, role: role.id })));
    this.requests = new Counter({
      name: 'breakglass_requests_total',
      help: 'Access requests by what happened to them: approved (quorum), granted, denied, withdrawn, timed_out, failed, expired, revoked.',
      labelNames: ['outcome', 'resource', 'role'],
      registers,
    });
    for (const labels of policyRoles) for (const outcome of OUTCOMES) this.requests.inc({ ...labels, outcome }, 0);
    this.timeToApprove = new Histogram({
      name: 'breakglass_time_to_approve_seconds',
      help: 'From the request to the approval that reached the quorum.',
      labelNames: ['resource', 'role'],
      buckets: [15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.revocationLag = new Histogram({
      name: 'breakglass_revocation_lag_seconds',
      help: 'From the expiry time to the revocation recorded in the database, for access that expired.',
      labelNames: ['resource'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.revocationFailures = new Counter({
      name: 'breakglass_revocation_failures_total',
      help: 'Failed revocation attempts (each one is retried until the revocation holds).',
      labelNames: ['resource'],
      registers,
    });
    this.slackErrors = new Counter({
      name: 'breakglass_slack_api_errors_total',
      help: 'Slack Web API calls that failed after the client’s own retries, by method and error code.',
      labelNames: ['method', 'error'],
      registers,
    });
    this.followUpsPastLimit = new Counter({
      name: 'breakglass_slack_follow_ups_past_limit_total',
      help: 'Work after a Slack ack that waited the longest allowed for its turn and then ran anyway, past SLACK_FOLLOW_UP_CONCURRENCY.',
      registers,
    });
    this.effects = new Counter({
      name: 'breakglass_effects_total',
      help: 'Effects from the outbox (grants, Slack messages, jobs, App Home refreshes) by pool, kind and outcome: delivered, failed (retried later) or gave_up (Slack refused it for good).',
      labelNames: ['pool', 'kind', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'breakglass_effects_undelivered',
      help: 'Effects committed and not yet delivered, by pool (from the database at scrape time).',
      labelNames: ['pool'],
      registers,
      async collect() {
        this.reset();
        try {
          const groups = await db.effect.groupBy({ by: ['pool'], where: { deliveredAt: null }, _count: { _all: true } });
          for (const group of groups) this.set({ pool: group.pool }, group._count._all);
        } catch (err) {
          logger.warn({ err }, 'could not count undelivered effects for /metrics');
        }
      },
    });
    new Gauge({
      name: 'breakglass_effects_oldest_undelivered_seconds',
      help: 'Age of the oldest undelivered effect (0 when none): Slack down or rate limiting for long, a target down.',
      labelNames: ['pool'],
      registers,
      async collect() {
        this.reset();
        try {
          const groups = await db.effect.groupBy({ by: ['pool'], where: { deliveredAt: null }, _min: { createdAt: true } });
          for (const group of groups) this.set({ pool: group.pool }, group._min.createdAt ? seconds(group._min.createdAt, new Date()) : 0);
        } catch (err) {
          logger.warn({ err }, 'could not read the effect backlog for /metrics');
        }
      },
    });
    // The drift check (src/requests/drift-check.ts). Per resource from the start, like the request counters.
    this.driftFindings = new Counter({
      name: 'breakglass_drift_found_total',
      help: 'Drift found on a target: reappeared (access present although its request ended; revoked again) or missing (an ACTIVE request’s access absent).',
      labelNames: ['resource', 'kind'],
      registers,
    });
    this.driftErrors = new Counter({
      name: 'breakglass_drift_check_errors_total',
      help: 'Drift checks of one request that could not be done (the target did not answer verify, or the resource left the policy).',
      labelNames: ['resource'],
      registers,
    });
    for (const resource of policy.resources) {
      for (const kind of DRIFT_KINDS) this.driftFindings.inc({ resource: resource.id, kind }, 0);
      this.driftErrors.inc({ resource: resource.id }, 0);
    }
    this.driftLastRun = new Gauge({
      name: 'breakglass_drift_last_run_findings',
      help: 'What the last drift check of this process found: reappeared, missing (including ones already reported) and errors.',
      labelNames: ['kind'],
      registers,
    });
    this.driftLastRunAt = new Gauge({
      name: 'breakglass_drift_last_run_timestamp_seconds',
      help: 'When the last drift check of this process finished (Unix time); absent until one has run.',
      registers,
    });
    new Gauge({
      name: 'breakglass_active_grants',
      help: 'Access granted on a target and not yet revoked (from the database at scrape time).',
      labelNames: ['resource', 'role'],
      registers,
      async collect() {
        this.reset();
        for (const labels of policyRoles) this.set(labels, 0);
        try {
          const groups = await db.grant.groupBy({ by: ['resourceId', 'roleId'], where: { status: 'ACTIVE' }, _count: { _all: true } });
          for (const group of groups) this.set({ resource: group.resourceId, role: group.roleId }, group._count._all);
        } catch (err) {
          // A scrape must not fail because of the database; /readyz reports that. The series is absent meanwhile.
          logger.warn({ err }, 'could not count active grants for /metrics');
        }
      },
    });
    new Gauge({
      name: 'breakglass_revocations_failing',
      help: 'Access due to be revoked whose revocation has failed at least once and not yet held (from the database at scrape time).',
      registers,
      async collect() {
        try {
          this.set(await db.accessRequest.count({ where: { status: 'REVOKING', revokeAttempts: { gt: 0 } } }));
        } catch (err) {
          this.reset();
          logger.warn({ err }, 'could not count failing revocations for /metrics');
        }
      },
    });
    this.auditEventsSealed = new Counter({
      name: 'breakglass_audit_events_sealed_total',
      help: 'Audit events this process sealed (gave their place and hash in the chain).',
      registers,
    });
    new Gauge({
      name: 'breakglass_audit_oldest_unsealed_seconds',
      help: 'Age of the oldest committed audit event not sealed yet (0 when none; from the database at scrape time). Alert above AUDIT_SEAL_BOUND.',
      registers,
      async collect() {
        try {
          const [row] = await db.$queryRaw<Array<{ age: number | null }>>`
            SELECT extract(epoch FROM (now() AT TIME ZONE 'UTC') - min("createdAt"))::float8 AS age FROM "AuditEvent" WHERE seq IS NULL`;
          this.set(Math.max(0, row?.age ?? 0));
        } catch (err) {
          this.reset();
          logger.warn({ err }, 'could not read the oldest unsealed audit event for /metrics');
        }
      },
    });
    // Emergency access (break glass): grants without approval, and reviews past their deadline.
    this.emergencyGrants = new Counter({
      name: 'breakglass_emergency_grants_total',
      help: 'Emergency access invoked (granted without approval, reviewed afterwards), by resource and role.',
      labelNames: ['resource', 'role'],
      registers,
    });
    for (const labels of policyRoles) this.emergencyGrants.inc(labels, 0);
    new Gauge({
      name: 'breakglass_emergency_reviews_overdue',
      help: 'Emergency grants not reviewed (justified or flagged) by their deadline, emergency.reviewWithin (from the database at scrape time).',
      registers,
      async collect() {
        try {
          this.set(await db.emergencyReview.count({ where: { verdict: null, dueAt: { lt: new Date() } } }));
        } catch (err) {
          this.reset();
          logger.warn({ err }, 'could not count overdue emergency reviews for /metrics');
        }
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  requestMoved(move: RequestMove): void {
    if (move.action === 'EMERGENCY_INVOKED') {
      // Not an approval: counted on its own, and kept out of the time-to-approve histogram.
      this.emergencyGrants.inc({ resource: move.resourceId, role: move.roleId });
      return;
    }
    const outcome = outcomeOf(move);
    if (outcome) this.requests.inc({ outcome, resource: move.resourceId, role: move.roleId });
    if (move.to === 'APPROVED' && move.decidedAt) {
      this.timeToApprove.observe({ resource: move.resourceId, role: move.roleId }, seconds(move.createdAt, move.decidedAt));
    }
    if (move.to === 'EXPIRED' && move.expiresAt && move.endedAt) {
      this.revocationLag.observe({ resource: move.resourceId }, seconds(move.expiresAt, move.endedAt));
    }
  }

  revocationFailed(resourceId: string): void {
    this.revocationFailures.inc({ resource: resourceId });
  }

  /** For the Slack clients: a call that failed, by method and Slack's error code. */
  slackCallFailed(method: string, error: unknown): void {
    this.slackErrors.inc({ method, error: slackErrorCode(error) });
  }

  effectsDelivered(pool: string, kind: string, count: number): void {
    this.effects.inc({ pool, kind, outcome: 'delivered' }, count);
  }

  effectFailed(pool: string, kind: string): void {
    this.effects.inc({ pool, kind, outcome: 'failed' });
  }

  effectGaveUp(pool: string, kind: string): void {
    this.effects.inc({ pool, kind, outcome: 'gave_up' });
  }

  /** The drift check found access where the database says there is none (reappeared), or the reverse (missing). */
  driftFound(resourceId: string, kind: DriftKind): void {
    this.driftFindings.inc({ resource: resourceId, kind });
  }

  /** The drift check could not check one request (see breakglass_drift_check_errors_total). */
  driftCheckFailed(resourceId: string): void {
    this.driftErrors.inc({ resource: resourceId });
  }

  /** A drift check finished: its findings become the last-run gauges. */
  driftRunFinished(findings: { reappeared: number; missing: number; errors: number }, at = new Date()): void {
    for (const kind of ['reappeared', 'missing', 'errors'] as const) this.driftLastRun.set({ kind }, findings[kind]);
    this.driftLastRunAt.set(at.getTime() / 1000);
  }

  auditSealed(count: number): void {
    if (count > 0) this.auditEventsSealed.inc(count);
  }

  /** A listener's follow-up waited the gate's maximum and ran past its limit (see FollowUpGate). */
  slackFollowUpPastLimit(): void {
    this.followUpsPastLimit.inc();
  }
}

/** Slack's own error string (`channel_not_found`, `ratelimited`, …), or the kind of failure when Slack gave none. */
export function slackErrorCode(error: unknown): string {
  const err = error as { code?: string; data?: { error?: unknown }; statusCode?: number } | null;
  switch (err?.code) {
    case 'slack_webapi_platform_error':
      return typeof err.data?.error === 'string' ? err.data.error : 'unknown_platform_error';
    case 'slack_webapi_rate_limited_error':
      return 'ratelimited';
    case 'slack_webapi_http_error':
      return `http_${err.statusCode ?? 'error'}`;
    case 'slack_webapi_request_error':
      return 'request_error';
    default:
      return 'other';
  }
}
