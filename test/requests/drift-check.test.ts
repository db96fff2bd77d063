import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createPrisma, type AccessRequest, type Db, type Prisma } from '../../src/db/prisma';
import { createLogger } from '../../src/logger';
import { BreakglassMetrics } from '../../src/metrics/breakglass-metrics';
import { parsePolicy } from '../../src/policy/load-policy';
import type { Policy } from '../../src/policy/types';
import { ProviderRegistry } from '../../src/providers/provider-registry';
import { DriftCheck, MISSING_REPORT_QUIET_MS, type DriftReports } from '../../src/requests/drift-check';
import { TargetDatabase } from '../support/target-database';

/** The drift check against real targets: a PostgreSQL target database (roles granted and revoked by hand behind
 * the bot's back), a PostgreSQL target that cannot be reached, and a command target whose revoke always fails.
 * Requests are seeded straight into the database, as the expiry machinery leaves them. The test database is shared
 * with the other suites, whose requests the check also sees (on resources this policy does not know): assertions
 * are per request and per resource, never on the run's totals. */
const target = new TargetDatabase();
const logger = createLogger('silent');
let db: Db;
let policy: Policy;
let providers: ProviderRegistry;
let metrics: BreakglassMetrics;
let admin: Client;
let markers: string;
let role: string;
const logins: Record<string, string> = {};

class RecordingReports implements DriftReports {
  readonly reappearedCalls: Array<{ requestId: string; outcome: { revoked: boolean; error?: string } }> = [];
  readonly missingCalls: string[] = [];
  async reappeared(request: AccessRequest, outcome: { revoked: boolean; error?: string }) {
    this.reappearedCalls.push({ requestId: request.id, outcome });
  }
  async missing(request: AccessRequest) {
    this.missingCalls.push(request.id);
  }
  reappearedFor(requestId: string) {
    return this.reappearedCalls.filter((call) => call.requestId === requestId);
  }
  missingFor(requestId: string) {
    return this.missingCalls.filter((id) => id === requestId);
  }
}

let reports: RecordingReports;
let drift: DriftCheck;

beforeAll(async () => {
  await target.connect();
  role = await target.createRole('drift_write', { login: false });
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'henry', 'ivan']) logins[name] = await target.createRole(`drift_${name}`, { login: true });
  markers = mkdtempSync(path.join(tmpdir(), 'bg-drift-'));
  // The command target: a marker file per login and grant; revoke always refuses.
  const marker = path.join(markers, '{login}_{grant}');
  policy = parsePolicy(
    `
admins: [U0ADMIN]
resources:
  - id: drift-db
    provider: { type: postgres, url: "${target.url}" }
    requesters: ["*"]
    approvers: [U0APPROVER]
    roles: [ { id: write, grant: ${role}, approvals: 1, maxDuration: 1h } ]
  - id: drift-down
    provider: { type: postgres, url: "postgresql://breakglass:Sup3rSecretPw@127.0.0.1:1/postgres" }
    requesters: ["*"]
    approvers: [U0APPROVER]
    roles: [ { id: write, grant: ${role}, approvals: 1, maxDuration: 1h } ]
  - id: drift-stuck
    provider:
      type: command
      grant: [/bin/sh, -c, 'touch "$0"', "${marker}"]
      revoke: [/bin/sh, -c, 'echo "the target refuses to revoke" >&2; exit 3']
      verify: [/bin/sh, -c, 'test -e "$0"', "${marker}"]
    requesters: ["*"]
    approvers: [U0APPROVER]
    roles: [ { id: operator, approvals: 1, maxDuration: 1h } ]
`,
    'drift-test-policy.yaml',
  );
  db = createPrisma(process.env.TEST_DATABASE_URL!, 4);
  providers = new ProviderRegistry(policy);
  metrics = new BreakglassMetrics(db, policy, logger);
  admin = new Client({ connectionString: target.url });
  await admin.connect();
});

beforeEach(() => {
  reports = new RecordingReports();
  drift = new DriftCheck({ db, providers, policy, logger, metrics, reports, providerConcurrency: 3, pageSize: 3 });
});

afterAll(async () => {
  await admin?.end();
  await providers?.closeAll();
  await db?.$disconnect();
  await target.dropAll();
  if (markers) rmSync(markers, { recursive: true, force: true });
});

const HOUR = 3_600_000;

/** A request as the expiry machinery leaves it: `ended` hours ago (EXPIRED with a revoked Grant), or ACTIVE. */
async function seed(options: {
  login: string;
  status: 'EXPIRED' | 'REVOKED' | 'FAILED' | 'ACTIVE';
  endedHoursAgo?: number;
  expiresInHours?: number;
  resourceId?: string;
  roleId?: string;
  grantName?: string;
}): Promise<AccessRequest> {
  const now = Date.now();
  const ended = options.status !== 'ACTIVE';
  const endedAt = ended ? new Date(now - (options.endedHoursAgo ?? 1) * HOUR) : null;
  const expiresAt = ended ? endedAt! : new Date(now + (options.expiresInHours ?? 1) * HOUR);
  const grantedAt = new Date(expiresAt.getTime() - HOUR);
  const resourceId = options.resourceId ?? 'drift-db';
  const roleId = options.roleId ?? 'write';
  const data: Prisma.AccessRequestCreateInput = {
    status: options.status,
    requesterId: `U0DRIFT${randomUUID().slice(0, 8).toUpperCase()}`,
    requesterLogin: options.login,
    resourceId,
    roleId,
    grantName: options.grantName ?? role,
    durationSeconds: 3600,
    reason: 'drift check test',
    channelId: 'C0DRIFT',
    requiredApprovals: 1,
    approvalCount: 1,
    createdAt: new Date(grantedAt.getTime() - 60_000),
    decidedAt: grantedAt,
    decidedBy: 'U0APPROVER',
    grantedAt,
    expiresAt,
    endedAt,
    endReason: options.status === 'EXPIRED' ? 'expired' : options.status === 'REVOKED' ? 'revoked' : options.status === 'FAILED' ? 'grant_failed' : null,
    grant: {
      create: { resourceId, roleId, login: options.login, grantedAt, expiresAt, status: ended ? 'REVOKED' : 'ACTIVE', revokedAt: endedAt },
    },
  };
  return db.accessRequest.create({ data });
}

const grantByHand = (login: string) => admin.query(`GRANT "${role}" TO "${login}"`);
const revokeByHand = (login: string) => admin.query(`REVOKE "${role}" FROM "${login}"`);

async function driftEvents(requestId: string) {
  return db.auditEvent.findMany({ where: { requestId, action: { startsWith: 'DRIFT_' } }, orderBy: { id: 'asc' } });
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const match = metric.values.find((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected));
  return match?.value ?? 0;
}

describe('DriftCheck', () => {
  it('revokes a role put back by hand on the target after the request expired, records it, reports it and counts it', async () => {
    const login = logins.alice;
    const request = await seed({ login, status: 'EXPIRED' });
    await grantByHand(login);
    expect(await target.hasRole(login, role)).toBe(true);
    const before = await counter('breakglass_drift_found_total', { resource: 'drift-db', kind: 'reappeared' });

    const result = await drift.run();

    expect(await target.hasRole(login, role)).toBe(false);
    expect(result.reappeared).toBeGreaterThanOrEqual(1);
    expect(result.revoked).toBeGreaterThanOrEqual(1);
    const events = await driftEvents(request.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'system', action: 'DRIFT_REVOKED', details: { login, grant: role, found: true, revoked: true } });
    expect(reports.reappearedFor(request.id)).toEqual([{ requestId: request.id, outcome: { revoked: true } }]);
    expect(await counter('breakglass_drift_found_total', { resource: 'drift-db', kind: 'reappeared' })).toBe(before + 1);
    // The request itself is left as it was: the drift check never changes status.
    expect((await db.accessRequest.findUniqueOrThrow({ where: { id: request.id } })).status).toBe('EXPIRED');
    expect(await counter('breakglass_drift_last_run_findings', { kind: 'reappeared' })).toBe(result.reappeared);

    // The next run finds nothing more to do.
    await drift.run();
    expect(await driftEvents(request.id)).toHaveLength(1);
  });

  it('does nothing for an ended request whose access is gone from the target', async () => {
    const expired = await seed({ login: logins.bob, status: 'EXPIRED' });
    const revoked = await seed({ login: logins.bob, status: 'REVOKED', endedHoursAgo: 2 });
    await drift.run();
    for (const request of [expired, revoked]) {
      expect(await driftEvents(request.id)).toEqual([]);
      expect(reports.reappearedFor(request.id)).toEqual([]);
    }
  });

  it('leaves access alone that another ACTIVE request of the same login legitimately holds', async () => {
    const login = logins.carol;
    const ended = await seed({ login, status: 'EXPIRED' });
    const active = await seed({ login, status: 'ACTIVE' });
    await grantByHand(login); // as the ACTIVE request's grant left it

    await drift.run();

    expect(await target.hasRole(login, role)).toBe(true);
    expect(await driftEvents(ended.id)).toEqual([]);
    expect(await driftEvents(active.id)).toEqual([]);
    expect(reports.reappearedFor(ended.id)).toEqual([]);
    expect(reports.missingFor(active.id)).toEqual([]);
    await revokeByHand(login);
    await db.accessRequest.update({ where: { id: active.id }, data: { status: 'REVOKED', endedAt: new Date(), endReason: 'revoked' } });
  });

  it('revokes a rolled-back grant (FAILED) whose role came back', async () => {
    const login = logins.grace;
    const request = await seed({ login, status: 'FAILED' });
    await grantByHand(login);
    await drift.run();
    expect(await target.hasRole(login, role)).toBe(false);
    expect((await driftEvents(request.id)).map((event) => event.action)).toEqual(['DRIFT_REVOKED']);
  });

  it('leaves an ACTIVE request about to expire to the expiry machinery, and gives way before every page', async () => {
    const login = logins.ivan;
    // Due in a minute, its access already missing: the expiry is about to take it anyway.
    const request = await seed({ login, status: 'ACTIVE', expiresInHours: 1 / 60 });
    let givenWay = 0;
    const polite = new DriftCheck({ db, providers, policy, logger, metrics, reports, providerConcurrency: 3, pageSize: 3, giveWay: async () => void givenWay++ });
    await polite.run();
    expect(await driftEvents(request.id)).toEqual([]);
    expect(reports.missingFor(request.id)).toEqual([]);
    expect(givenWay).toBeGreaterThanOrEqual(2); // at least the first page of ended and of active requests
  });

  it('reports an ACTIVE request whose role was removed by hand, once, and not again on the next run', async () => {
    const login = logins.dave;
    const request = await seed({ login, status: 'ACTIVE', expiresInHours: 8 });
    // Granted, then taken away behind the bot's back (never granted here comes to the same).
    await grantByHand(login);
    await revokeByHand(login);
    const before = await counter('breakglass_drift_found_total', { resource: 'drift-db', kind: 'missing' });

    const first = await drift.run();
    expect(first.missing).toBeGreaterThanOrEqual(1);
    const events = await driftEvents(request.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'system', action: 'DRIFT_MISSING', details: { login, grant: role, found: false } });
    expect(reports.missingFor(request.id)).toEqual([request.id]);
    expect(await counter('breakglass_drift_found_total', { resource: 'drift-db', kind: 'missing' })).toBe(before + 1);

    const second = await drift.run();
    expect(second.missing).toBeGreaterThanOrEqual(1); // still missing, and still seen
    expect(await driftEvents(request.id)).toHaveLength(1); // but not recorded or reported again
    expect(reports.missingFor(request.id)).toEqual([request.id]);
    expect(await counter('breakglass_drift_found_total', { resource: 'drift-db', kind: 'missing' })).toBe(before + 1);

    // Once the quiet period is over, it is reported again.
    await drift.run(new Date(Date.now() + MISSING_REPORT_QUIET_MS + 60_000));
    expect((await driftEvents(request.id)).map((event) => event.action)).toEqual(['DRIFT_MISSING', 'DRIFT_MISSING']);
    expect(reports.missingFor(request.id)).toEqual([request.id, request.id]);
    await db.accessRequest.update({ where: { id: request.id }, data: { status: 'REVOKED', endedAt: new Date(), endReason: 'revoked' } });
  });

  it('does not check requests that ended longer ago than the lookback', async () => {
    const login = logins.erin;
    const old = await seed({ login, status: 'EXPIRED', endedHoursAgo: 25 });
    await grantByHand(login);
    await drift.run();
    expect(await target.hasRole(login, role)).toBe(true);
    expect(await driftEvents(old.id)).toEqual([]);
    // A longer lookback does take it.
    await new DriftCheck({ db, providers, policy, logger, metrics, reports, lookbackMs: 26 * HOUR }).run();
    expect(await target.hasRole(login, role)).toBe(false);
    expect((await driftEvents(old.id)).map((event) => event.action)).toEqual(['DRIFT_REVOKED']);
  });

  it('leaves access whose lock is held (a grant or revoke in flight) for the next run', async () => {
    const login = logins.frank;
    const request = await seed({ login, status: 'EXPIRED' });
    await grantByHand(login);
    const holder = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [JSON.stringify(['drift-db', role, login])]);
      const busy = await drift.run();
      expect(busy.busy).toBeGreaterThanOrEqual(1);
      expect(await target.hasRole(login, role)).toBe(true);
      expect(await driftEvents(request.id)).toEqual([]);
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    await drift.run();
    expect(await target.hasRole(login, role)).toBe(false);
    expect((await driftEvents(request.id)).map((event) => event.action)).toEqual(['DRIFT_REVOKED']);
  });

  it('records and reports a revoke that fails on the target (DRIFT_REVOKE_FAILED)', async () => {
    const request = await seed({ login: 'stuck-user', status: 'EXPIRED', resourceId: 'drift-stuck', roleId: 'operator', grantName: 'operator' });
    await providers.get('drift-stuck').grant({
      requestId: request.id,
      requestNumber: request.number,
      slackId: request.requesterId,
      login: 'stuck-user',
      resourceId: 'drift-stuck',
      roleId: 'operator',
      grant: 'operator',
      expiresAt: new Date(),
      reason: 'by hand',
      ticket: null,
    });

    const result = await drift.run();

    expect(result.reappeared - result.revoked).toBeGreaterThanOrEqual(1);
    const events = await driftEvents(request.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'DRIFT_REVOKE_FAILED', details: { login: 'stuck-user', grant: 'operator', found: true, revoked: false } });
    expect((events[0].details as { error: string }).error).toContain('the target refuses to revoke');
    expect(reports.reappearedFor(request.id)).toEqual([{ requestId: request.id, outcome: { revoked: false, error: expect.stringContaining('the target refuses to revoke') } }]);
    expect(await counter('breakglass_drift_found_total', { resource: 'drift-stuck', kind: 'reappeared' })).toBeGreaterThanOrEqual(1);
    rmSync(path.join(markers, 'stuck-user_operator'), { force: true });
  });

  it('counts a target that cannot be reached as an error and still checks the others', async () => {
    const down = await seed({ login: logins.alice, status: 'ACTIVE', resourceId: 'drift-down' });
    const login = logins.henry;
    const reappeared = await seed({ login, status: 'EXPIRED' });
    await grantByHand(login);
    const errorsBefore = await counter('breakglass_drift_check_errors_total', { resource: 'drift-down' });

    const result = await drift.run();

    expect(result.errors).toBeGreaterThanOrEqual(1);
    expect(await counter('breakglass_drift_check_errors_total', { resource: 'drift-down' })).toBe(errorsBefore + 1);
    expect(await driftEvents(down.id)).toEqual([]);
    expect(reports.missingFor(down.id)).toEqual([]);
    // The reachable target was still checked, and fixed.
    expect(await target.hasRole(login, role)).toBe(false);
    expect(reports.reappearedFor(reappeared.id)).toHaveLength(1);
    await db.accessRequest.update({ where: { id: down.id }, data: { status: 'REVOKED', endedAt: new Date(), endReason: 'revoked' } });
  });
});
