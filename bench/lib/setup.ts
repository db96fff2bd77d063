/** Shared set-up of the benchmarks: their own database and Redis index, the policy, seeding, and machine facts. */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { createPrisma, type Db } from '../../src/db/prisma';
import type { ExpiryScheduler } from '../../src/services/access-service';

export const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const BENCH_DATABASE = process.env.BENCH_DATABASE ?? 'breakglass_bench';
/** Redis index 13, away from the tests' index 0; queue names are unique per run as well. */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
export const BOT_TOKEN = 'xoxb-test-bench';
export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
export const RESULTS_DIR = path.join(__dirname, '..', 'results');
const ROOT = path.join(__dirname, '..', '..');

export function benchDatabaseUrl(): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${BENCH_DATABASE}`;
  return url.toString();
}

/** Drops and recreates the benchmark database, then applies the migrations in the tree with scripts/migrate.mjs. */
export async function createBenchDatabase(): Promise<string> {
  await dropBenchDatabase({ force: true });
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  await admin.end();
  const url = benchDatabaseUrl();
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/migrate.mjs')], { env: { ...process.env, MIGRATION_DATABASE_URL: url, DATABASE_URL: url }, stdio: 'ignore' });
  return url;
}

/** BENCH_KEEP_DB=1 keeps the database after a run, to look at what the bot wrote. */
export async function dropBenchDatabase({ force = false } = {}): Promise<void> {
  if (process.env.BENCH_KEEP_DB && !force) return;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
  await admin.end();
}

export function uniqueQueueName(kind: string): string {
  return `bench-${kind}-${randomBytes(4).toString('hex')}`;
}

/** Removes a queue and everything BullMQ keeps for it. */
export async function obliterateQueue(name: string): Promise<void> {
  const queue = new Queue(name, { connection: { url: REDIS_URL } });
  await queue.obliterate({ force: true });
  await queue.close();
}

export const APPROVERS = ['U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3', 'U0APPROVER4', 'U0APPROVER5'];
export const GROUP_ID = 'S0SRELEADS';
export const GROUP_MEMBERS = ['U0LEAD1', 'U0LEAD2'];

/** Shaped like the policy example in docs/policy.md: two resources, roles with 1 and 2 approvals, a user group among the approvers.
 * Provider URLs are never used: the bot process swaps in a no-op provider. */
export const BENCH_POLICY = `
defaults: { maxDuration: 4h, approvals: 1, requireTicket: true, ticketPattern: "^[A-Z]+-[0-9]+$", requestsPerHour: 1000000 }
admins: [U0ADMIN]
loginEmailDomains: [example.com]
resources:
  - id: payments-db
    description: Payments PostgreSQL
    provider: { type: postgres, url: "postgres://unused@127.0.0.1:1/unused" }
    requesters: ["*"]
    approvers: [${APPROVERS.join(', ')}, ${GROUP_ID}]
    roles:
      - { id: read,  grant: bg_payments_read,  approvals: 1, maxDuration: 8h }
      - { id: write, grant: bg_payments_write, approvals: 2, maxDuration: 1h }
  - id: deploy-console
    provider: { type: webhook, url: "http://127.0.0.1:9/unused", secret: "unused-secret", timeout: 2s }
    requesters: ["*"]
    approvers: [${APPROVERS[0]}]
    roles: [ { id: operator, approvals: 1, maxDuration: 2h, requireTicket: false } ]
`;

export function channelIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `C0BENCH${String(i).padStart(4, '0')}`);
}

/** A plausible, unique message ts per seeded request (what the approval message's chat.postMessage returned). */
function messageTs(i: number): string {
  return `1600000000.${String(i).padStart(6, '0')}`;
}

export interface SeededRequest {
  id: string;
  channelId: string;
  messageTs: string;
}

async function inBatches<T>(items: T[], size: number, write: (batch: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await write(items.slice(i, i + size));
}

/** ACTIVE requests as the app leaves them after approval, grant and the "ends soon" reminder (sent 10 minutes
 * before the expiry, the policy's default): request, approval, grant and the five audit events, one requester (and
 * login) each, spread round-robin over `channels`. Without the reminder recorded, the bot's start-up reconcile would
 * send 10,000 overdue reminders in the middle of the burst, which no real burst has. */
export async function seedActiveGrants(db: Db, options: { count: number; channels: string[]; expiresAt: (i: number) => Date }): Promise<SeededRequest[]> {
  const now = Date.now();
  const rows = Array.from({ length: options.count }, (_, i) => {
    const expiresAt = options.expiresAt(i);
    const durationSeconds = 3600;
    const grantedAt = new Date(expiresAt.getTime() - durationSeconds * 1000);
    return {
      request: {
        id: randomUUID(),
        status: 'ACTIVE' as const,
        requesterId: `U0USER${i}`,
        requesterLogin: `user${i}`,
        resourceId: 'payments-db',
        roleId: 'read',
        grantName: 'bg_payments_read',
        durationSeconds,
        reason: `investigating stuck payouts for merchant ${i} (INC-${4000 + (i % 500)})`,
        ticket: `INC-${4000 + (i % 500)}`,
        channelId: options.channels[i % options.channels.length],
        messageTs: messageTs(i),
        requiredApprovals: 1,
        approvalCount: 1,
        createdAt: new Date(Math.min(now, grantedAt.getTime()) - 60_000),
        decidedAt: grantedAt,
        decidedBy: APPROVERS[i % APPROVERS.length],
        grantedAt,
        expiresAt,
        reminderSentAt: new Date(expiresAt.getTime() - 600_000),
      },
      approver: APPROVERS[i % APPROVERS.length],
    };
  });
  await inBatches(rows, 1000, (batch) => db.accessRequest.createMany({ data: batch.map((row) => row.request) }));
  await inBatches(rows, 1000, (batch) =>
    db.approval.createMany({ data: batch.map(({ request, approver }) => ({ requestId: request.id, approverId: approver, createdAt: request.decidedAt })) }),
  );
  await inBatches(rows, 1000, (batch) =>
    db.grant.createMany({
      data: batch.map(({ request }) => ({
        requestId: request.id,
        resourceId: request.resourceId,
        roleId: request.roleId,
        login: request.requesterLogin,
        grantedAt: request.grantedAt,
        expiresAt: request.expiresAt,
      })),
    }),
  );
  const actions = ['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'REMINDER_SENT'];
  await inBatches(rows, 250, (batch) =>
    db.auditEvent.createMany({
      data: batch.flatMap(({ request, approver }) =>
        actions.map((action) => ({
          requestId: request.id,
          actor: action === 'REQUESTED' ? request.requesterId : action === 'GRANTED' ? 'system' : approver,
          action,
          details: { resource: request.resourceId, role: request.roleId, login: request.requesterLogin },
          createdAt: request.createdAt,
        })),
      ),
    }),
  );
  return rows.map(({ request }) => ({ id: request.id, channelId: request.channelId, messageTs: request.messageTs }));
}

/** PENDING requests waiting for one approval (the read role), for the Approve-click benchmark. */
export async function seedPendingRequests(db: Db, options: { count: number; channels: string[] }): Promise<SeededRequest[]> {
  const rows = Array.from({ length: options.count }, (_, i) => ({
    id: randomUUID(),
    requesterId: `U0PENDING${i}`,
    requesterLogin: `pending${i}`,
    resourceId: 'payments-db',
    roleId: 'read',
    grantName: 'bg_payments_read',
    durationSeconds: 3600,
    reason: 'checking a failed settlement batch',
    ticket: `INC-${5000 + i}`,
    channelId: options.channels[i % options.channels.length],
    messageTs: messageTs(500_000 + i),
    requiredApprovals: 1,
  }));
  await inBatches(rows, 1000, (batch) => db.accessRequest.createMany({ data: batch }));
  await inBatches(rows, 250, (batch) => db.auditEvent.createMany({ data: batch.map((row) => ({ requestId: row.id, actor: row.requesterId, action: 'REQUESTED', details: {} })) }));
  return rows.map((row) => ({ id: row.id, channelId: row.channelId, messageTs: row.messageTs }));
}

/** Schedules expiry jobs through the app's own ExpiryQueue, `parallel` at a time. */
export async function scheduleExpiries(scheduler: ExpiryScheduler, items: Array<{ id: string; at: Date }>, parallel = 100): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      await scheduler.schedule(item.id, item.at);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

export function openDb(url: string): Db {
  return createPrisma(url);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The facts docs/benchmarks.md records about the machine. */
export function machineInfo(): Record<string, string> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(cpuinfo)?.[1];
  const pg = tryRun('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-Atc', 'SHOW server_version']);
  const redis = /redis_version:(\S+)/.exec(tryRun('redis-cli', ['INFO', 'server']))?.[1] ?? 'unknown';
  return {
    cpu: `${model}${mhz ? ` @ ${Math.round(Number(mhz))} MHz` : ''}`,
    cores: String(os.cpus().length),
    ram: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    kernel: os.release(),
    node: process.version,
    postgres: pg.split(' ')[0] || 'unknown',
    redis,
    'load average at start (1/5/15 min)': os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(' / '),
  };
}

function tryRun(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Writes a run's raw numbers to bench/results/<name>-<time>.json (gitignored) and returns the path. */
export function saveResults(name: string, results: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(results, null, 2));
  return file;
}

/** `--name value` / `--flag` options after the benchmark name. */
export function parseOptions(argv: string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const [name, inline] = arg.slice(2).split('=', 2);
    if (inline !== undefined) options.set(name, inline);
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) options.set(name, argv[++i]);
    else options.set(name, 'true');
  }
  return options;
}

export function numberOption(options: Map<string, string>, name: string, fallback: number): number {
  const value = options.get(name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`--${name} must be a number`);
  return parsed;
}
