/** Counters installed in the bot process only (never in src/): SQL statements, pool waits, Redis commands, and the
 * timing of each processExpiry call and reconciler run. Each hook is a Map increment or an array push. */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Reconciler } from '../../src/jobs/reconciler';
import { BreakglassMetrics } from '../../src/metrics/breakglass-metrics';
import { AccessService } from '../../src/services/access-service';
import { FollowUpGate } from '../../src/slack/follow-up-gate';

export interface ExpiryCall {
  requestId: string;
  start: number;
  end: number;
  ok: boolean;
}

/** One Slack listener follow-up (FollowUpGate.run): how long it waited for a slot, and how long it then ran. */
export interface FollowUpCall {
  waitMs: number;
  runMs: number;
}

export interface Counters {
  sql: Record<string, number>;
  /** Wall time from sending each statement to its answer (waiting for locks and for the CPU included), by kind. */
  sqlMs: Record<string, { count: number; totalMs: number; maxMs: number }>;
  sqlTotal: number;
  poolAcquisitions: number;
  poolWaitMs: number[];
  redis: Record<string, number>;
  redisTotal: number;
  reconcileRuns: Array<{ start: number; end: number; checked: number }>;
  followUps: FollowUpCall[];
  /** Follow-ups that waited the gate's maximum and ran past its limit. */
  followUpOverflows: number;
}

const state = {
  sql: new Map<string, number>(),
  sqlMs: new Map<string, { count: number; totalMs: number; maxMs: number }>(),
  poolWaitMs: [] as number[],
  redis: new Map<string, number>(),
  expiryCalls: [] as ExpiryCall[],
  reconcileRuns: [] as Array<{ start: number; end: number; checked: number }>,
  followUps: [] as FollowUpCall[],
  followUpOverflows: 0,
};

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** "SELECT", "INSERT INTO AuditEvent", "UPDATE AccessRequest", "BEGIN", … */
function statementKind(text: string): string {
  const match = /^\s*(\w+)(?:\s+(?:INTO|FROM)?\s*(?:"public"\.)?"?(\w+)"?)?/i.exec(text);
  if (!match) return 'other';
  const verb = match[1].toUpperCase();
  // The statements of the sweep and the runners are CTEs: named by their first part (own = the sweep's claim,
  // outcome = its record, settled/heads = effect claims).
  if (verb === 'WITH') return `WITH ${/^\s*WITH\s+(\w+)/i.exec(text)?.[1] ?? ''}`.trim();
  if (verb === 'SELECT') {
    const from = /\bFROM\s+(?:"public"\.)?"(\w+)"/i.exec(text);
    return from ? `SELECT ${from[1]}` : 'SELECT';
  }
  return ['INSERT', 'UPDATE', 'DELETE'].includes(verb) && match[2] ? `${verb} ${match[2]}` : verb;
}

let installed = false;

export function installInstrumentation(): void {
  if (installed) return;
  installed = true;

  const query = pg.Client.prototype.query as (...args: any[]) => any;
  pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
    const config = args[0];
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text !== 'string') return query.apply(this, args);
    const kind = statementKind(text);
    bump(state.sql, kind);
    const start = performance.now();
    const result = query.apply(this, args);
    if (result && typeof result.then === 'function') {
      const record = () => {
        const ms = performance.now() - start;
        const timing = state.sqlMs.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0 };
        timing.count++;
        timing.totalMs += ms;
        timing.maxMs = Math.max(timing.maxMs, ms);
        state.sqlMs.set(kind, timing);
      };
      result.then(record, record);
    }
    return result;
  } as typeof pg.Client.prototype.query;

  // pg.Pool extends pg-pool's Pool; its connect(cb?) is used both by pool.query and by Prisma's transactions.
  const poolPrototype = Object.getPrototypeOf(pg.Pool.prototype) as { connect: (cb?: (...args: any[]) => void) => any };
  const connect = poolPrototype.connect;
  poolPrototype.connect = function (this: unknown, cb?: (...args: any[]) => void) {
    const start = performance.now();
    const record = () => state.poolWaitMs.push(performance.now() - start);
    if (cb) {
      return connect.call(this, (...results: any[]) => {
        record();
        cb(...results);
      });
    }
    return connect.call(this).then((client: unknown) => {
      record();
      return client;
    });
  };

  const shaNames = new Map<string, string>();
  const sendCommand = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: Redis & { scriptsSet?: Record<string, { sha: string }> }, command: any, ...rest: any[]) {
    let name: string = command?.name ?? 'unknown';
    if (name === 'evalsha') {
      const sha = String(command.args?.[0] ?? '');
      if (!shaNames.has(sha)) {
        for (const [script, definition] of Object.entries(this.scriptsSet ?? {})) shaNames.set(definition.sha, script);
      }
      name = `evalsha ${shaNames.get(sha) ?? sha.slice(0, 8)}`;
    }
    bump(state.redis, name);
    return (sendCommand as (...args: any[]) => any).call(this, command, ...rest);
  } as typeof Redis.prototype.sendCommand;

  const processExpiry = AccessService.prototype.processExpiry;
  AccessService.prototype.processExpiry = async function (this: AccessService, requestId: string, now?: Date) {
    const start = Date.now();
    let ok = false;
    try {
      const result = await processExpiry.call(this, requestId, now);
      ok = true;
      return result;
    } finally {
      state.expiryCalls.push({ requestId, start, end: Date.now(), ok });
    }
  };

  // A follow-up that waited the gate's longest and ran past its limit is reported to the metrics (see app.ts).
  const pastLimit = BreakglassMetrics.prototype.slackFollowUpPastLimit;
  BreakglassMetrics.prototype.slackFollowUpPastLimit = function (this: BreakglassMetrics) {
    state.followUpOverflows++;
    pastLimit.call(this);
  };
  const gate = FollowUpGate.prototype;
  const gateRun = gate.run;
  gate.run = function <T>(this: FollowUpGate, work: () => Promise<T>): Promise<T> {
    const called = performance.now();
    return gateRun.call(this, async () => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        state.followUps.push({ waitMs: started - called, runMs: performance.now() - started });
      }
    }) as Promise<T>;
  };

  const run = Reconciler.prototype.run;
  Reconciler.prototype.run = async function (this: Reconciler) {
    const start = Date.now();
    const result = await run.call(this);
    state.reconcileRuns.push({ start, end: Date.now(), checked: result.checked });
    return result;
  };
}

export function resetCounters(): void {
  state.sql.clear();
  state.sqlMs.clear();
  state.poolWaitMs.length = 0;
  state.redis.clear();
  state.expiryCalls.length = 0;
  state.reconcileRuns.length = 0;
  state.followUps.length = 0;
  state.followUpOverflows = 0;
}

export function counters(): Counters {
  const sortedEntries = (map: Map<string, number>) => Object.fromEntries([...map].sort((a, b) => b[1] - a[1]));
  return {
    sql: sortedEntries(state.sql),
    sqlMs: Object.fromEntries([...state.sqlMs].sort((a, b) => b[1].totalMs - a[1].totalMs)),
    sqlTotal: [...state.sql.values()].reduce((a, b) => a + b, 0),
    poolAcquisitions: state.poolWaitMs.length,
    poolWaitMs: state.poolWaitMs,
    redis: sortedEntries(state.redis),
    redisTotal: [...state.redis.values()].reduce((a, b) => a + b, 0),
    reconcileRuns: state.reconcileRuns,
    followUps: state.followUps,
    followUpOverflows: state.followUpOverflows,
  };
}

export function expiryCalls(): ExpiryCall[] {
  return state.expiryCalls;
}
