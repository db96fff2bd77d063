/**
 * Probe, not a change: measures how long the bot's transactions hold the audit hash chain's lock. The chain's
 * trigger takes the AuditChainHead row lock on every audit insert until commit, so in a transaction that inserts
 * audit events, the lock is held from that insert until its COMMIT completes. Per transaction, this records
 *   - insert: the audit-inserting statement, sent → answered (server work, including waiting for the chain lock);
 *   - gap: answered → COMMIT sent (client round trip: the bot's event loop, Prisma's transaction bookkeeping);
 *   - commit: COMMIT sent → answered.
 * Auto-committed statements that insert audit events (the sweep's claims and records) are timed as a whole, sent →
 * answered ("auto-committed statements"; the chain's lock is held within them). Every 5 s, and at exit, the distributions so far
 * go to stderr (`BENCH_BOT_LOG=info` shows them):
 *
 *   BENCH_BOT_LOG=info BENCH_BOT_PATCH=bench/experiments/chain-lock-probe.ts npm run bench -- revocation
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';

type Pending = { sent: number; answered?: number; commitSent?: number };
const open = new WeakMap<object, Pending>();
const samples = { insert: [] as number[], gap: [] as number[], commit: [] as number[], held: [] as number[], single: [] as number[] };

const query = pg.Client.prototype.query as (...args: any[]) => any;
pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
  const config = args[0];
  const text: string = typeof config === 'string' ? config : (config?.text ?? '');
  const client = this as object;
  const inTransaction = (this as unknown as { _bgInTx?: boolean })._bgInTx === true;
  if (/^\s*BEGIN/i.test(text)) (this as unknown as { _bgInTx?: boolean })._bgInTx = true;
  const isCommit = /^\s*(COMMIT|ROLLBACK)/i.test(text);
  if (isCommit) (this as unknown as { _bgInTx?: boolean })._bgInTx = false;
  const autoCommitted = !inTransaction && /INSERT INTO "AuditEvent"/i.test(text);
  const sent = performance.now();
  if (autoCommitted && typeof args[args.length - 1] === 'function') {
    // An auto-committed statement (the sweep's claims and records): the chain's lock is held within it. Outside a
    // transaction the adapter goes through pg.Pool#query, which passes a callback instead of taking a promise.
    const callback = args[args.length - 1] as (...results: unknown[]) => void;
    args[args.length - 1] = (...results: unknown[]) => {
      samples.single.push(performance.now() - sent);
      callback(...results);
    };
  }
  const result = query.apply(this, args);
  if (autoCommitted) {
    if (result && typeof result.then === 'function')
      result.then(
        () => samples.single.push(performance.now() - sent),
        () => undefined,
      );
  } else if (inTransaction && /INSERT INTO "AuditEvent"/i.test(text) && !open.has(client)) {
    const pending: Pending = { sent: performance.now() };
    open.set(client, pending);
    if (result && typeof result.then === 'function')
      result.then(
        () => (pending.answered = performance.now()),
        () => open.delete(client),
      );
  } else if (isCommit && open.has(client)) {
    const pending = open.get(client)!;
    open.delete(client);
    pending.commitSent = performance.now();
    if (result && typeof result.then === 'function') {
      result.then(
        () => {
          const done = performance.now();
          const answered = pending.answered ?? pending.commitSent!;
          samples.insert.push(answered - pending.sent);
          samples.gap.push(pending.commitSent! - answered);
          samples.commit.push(done - pending.commitSent!);
          samples.held.push(done - pending.sent);
        },
        () => undefined,
      );
    }
  }
  return result;
} as typeof pg.Client.prototype.query;

function summary(values: number[]): string {
  if (values.length === 0) return 'n=0';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  const sum = values.reduce((a, b) => a + b, 0);
  return `n=${values.length} p50=${at(0.5)} p90=${at(0.9)} p99=${at(0.99)} max=${sorted[sorted.length - 1].toFixed(1)} sum=${sum.toFixed(0)}ms`;
}

let reported = -1;
function report(): void {
  if (samples.held.length + samples.single.length === reported) return;
  reported = samples.held.length + samples.single.length;
  process.stderr.write(
    `chain-lock-probe: held ${summary(samples.held)} | insert ${summary(samples.insert)} | gap ${summary(samples.gap)} | commit ${summary(samples.commit)} | auto-committed statements ${summary(samples.single)}\n`,
  );
}
setInterval(report, 5000).unref();
process.on('exit', report);
