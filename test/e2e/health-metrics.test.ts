import type { BotHarness } from '../support/bot-harness';
import { sample } from '../support/prometheus-text';
import { TargetDatabase } from '../support/target-database';
import { startE2eBot } from './e2e-helpers';
import { CHANNEL, REQUESTER } from './policy-fixture';

/** The metrics deploy/prometheus/alerts.yml watches (src/metrics/health-metrics.ts), read over GET /metrics from real
 * bots on the real PostgreSQL and Redis. */
const target = new TargetDatabase();
const harnesses: BotHarness[] = [];

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.stop()));
  await target.dropAll();
});

async function metricsOf(harness: BotHarness): Promise<string> {
  return (await fetch(`http://127.0.0.1:${harness.port}/metrics`)).text();
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

describe('health metrics', () => {
  it('a web process: grants overdue past the grace, the oldest one, queued jobs, no expiry worker, build_info', async () => {
    // The web role runs no expiries: what is overdue stays overdue while we look.
    const { harness, login } = await startE2eBot(target, undefined, { harness: { config: { role: 'web', buildCommit: 'abc1234' } } });
    harnesses.push(harness);
    // One live request per person and role: each row its own requester.
    const row = (status: 'ACTIVE' | 'REVOKING' | 'EXPIRED', expiresAt: Date, grantName: string) =>
      harness.db.accessRequest.create({
        data: {
          requesterId: `${REQUESTER}${grantName}`,
          requesterLogin: `${login}_${grantName}`,
          resourceId: 'payments-db',
          roleId: 'read',
          grantName,
          durationSeconds: 60,
          reason: 'seeded',
          channelId: CHANNEL,
          requiredApprovals: 1,
          status,
          expiresAt,
        },
      });
    await row('ACTIVE', minutesAgo(5), 'g1'); // overdue for 5 minutes
    await row('REVOKING', minutesAgo(2), 'g2'); // overdue, revocation failing
    await row('ACTIVE', new Date(Date.now() - 10_000), 'g3'); // 10 s late: within the grace
    await row('ACTIVE', new Date(Date.now() + 3_600_000), 'g4'); // not due
    await row('EXPIRED', minutesAgo(30), 'g5'); // ended
    const due = await row('ACTIVE', new Date(Date.now() + 3_600_000), 'g6');
    await harness.bot.expiryQueue.schedule(due.id, new Date(Date.now() + 3_600_000));

    const text = await metricsOf(harness);
    expect(sample(text, 'breakglass_grants_overdue')).toBe(2);
    const oldest = sample(text, 'breakglass_grants_overdue_oldest_seconds')!;
    expect(oldest).toBeGreaterThanOrEqual(300);
    expect(oldest).toBeLessThan(360);
    expect(sample(text, 'breakglass_queue_jobs', { queue: 'expiry', state: 'delayed' })).toBe(1);
    expect(sample(text, 'breakglass_queue_jobs', { queue: 'expiry', state: 'failed' })).toBe(0);
    expect(sample(text, 'breakglass_queue_jobs', { queue: 'reminder', state: 'waiting' })).toBe(0);
    expect(sample(text, 'breakglass_queue_workers', { queue: 'expiry' })).toBe(0);
    expect(sample(text, 'breakglass_worker_heartbeat_timestamp_seconds')).toBeUndefined();
    expect(sample(text, 'breakglass_build_info', { version: '0.1.0', commit: 'abc1234', node_version: process.version })).toBe(1);
    expect(sample(text, 'breakglass_audit_seal_bound_seconds')).toBe(5);
  });

  it('a worker process: its heartbeat, and the expiry queue sees its worker', async () => {
    const { harness } = await startE2eBot(target, undefined, { harness: { config: { role: 'worker' } } });
    harnesses.push(harness);
    const text = await metricsOf(harness);
    const beat = sample(text, 'breakglass_worker_heartbeat_timestamp_seconds')!;
    expect(Date.now() / 1000 - beat).toBeLessThan(10);
    expect(sample(text, 'breakglass_queue_workers', { queue: 'expiry' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'breakglass_queue_workers', { queue: 'reminder' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'breakglass_grants_overdue')).toBe(0);
    expect(sample(text, 'breakglass_build_info', { commit: 'unknown' })).toBe(1);
  });
});
