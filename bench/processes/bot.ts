/** The real bot (createBreakglass) in its own process, with a no-op provider and the bench's counters installed.
 * Logs go through the app's own logger at `info` (as in production) into /dev/null. */
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { createBreakglass } from '../../src/app';
import { limitHeapGrowth } from '../../src/app/heap-growth';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/logger';
import { parsePolicy } from '../../src/policy/load-policy';
import type { AccessProvider, GrantResult, GrantTarget } from '../../src/providers/types';
import { childConfig, serve } from '../lib/child';
import { counters, expiryCalls, installInstrumentation, resetCounters } from '../lib/instrument';

export interface BotConfig {
  slackApiUrl: string;
  databaseUrl: string;
  redisUrl: string;
  queueName: string;
  policyYaml: string;
  signingSecret: string;
  botToken: string;
  logLevel: string;
  /** The no-op provider's `sharing`: 'login' (like postgres membership and webhook) or 'request' (temporary logins). */
  sharing: 'login' | 'request';
  /** Added to each provider call, standing in for a real target's round trips. */
  providerLatencyMs?: number;
  /** EXPIRY_CONCURRENCY (the expiry worker's concurrency; the pool is sized from it). Unset: this process's own
   * EXPIRY_CONCURRENCY environment variable, else the app's default. */
  expiryConcurrency?: number;
  /** BREAKGLASS_ROLE (default all). */
  role?: 'web' | 'worker' | 'all';
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Of rss: file-backed pages (the node binary and shared libraries, shared with every node process on the machine)
   * and anonymous ones (heaps, WebAssembly, buffers, stacks), from /proc/self/status. */
  rssFile: number;
  rssAnon: number;
}

/** Grants nothing anywhere; remembers what it "granted" so verify answers as a real target would. */
class NoopProvider implements AccessProvider {
  readonly type = 'noop';
  private readonly granted = new Set<string>();

  constructor(
    readonly sharing: 'login' | 'request',
    private readonly latencyMs = 0,
  ) {}

  private async roundTrip(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  async grant(target: GrantTarget): Promise<GrantResult> {
    await this.roundTrip();
    this.granted.add(target.requestId);
    return {};
  }

  async revoke(target: GrantTarget): Promise<void> {
    await this.roundTrip();
    this.granted.delete(target.requestId);
  }

  async verify(target: GrantTarget): Promise<boolean> {
    await this.roundTrip();
    return this.granted.has(target.requestId);
  }

  async extend(): Promise<void> {}

  async close(): Promise<void> {}
}

/** The highest RSS seen since start (or the last resetPeakRss), sampled every 50 ms: a burst's peak, not its end. */
let peakRss = 0;
setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50).unref();

function memory(): MemorySample {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss, heapUsed, heapTotal, external, arrayBuffers, rssFile: kib('RssFile'), rssAnon: kib('RssAnon') };
}

// BENCH_BOT_PATCH=<module>[,<module>…]: loaded before the bot is built (and before the counters wrap the methods
// they time), to try a proposed change without editing src/: bench/experiments/*. See docs/benchmarks.md.
for (const patch of (process.env.BENCH_BOT_PATCH ?? '').split(',').filter(Boolean)) require(path.resolve(patch));
installInstrumentation();
const config = childConfig<BotConfig>();
// BENCH_BOT_LOG=<level> sends the bot's logs to stderr instead, for debugging a run.
const logger = process.env.BENCH_BOT_LOG
  ? createLogger(process.env.BENCH_BOT_LOG, pino.destination(2))
  : createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: false }));
// Configured the way main.ts is, from environment variables (so new settings get their production defaults); only
// the port is then set to 0 (pick a free one).
const appConfig = {
  ...loadConfig({
    SLACK_BOT_TOKEN: config.botToken,
    SLACK_SIGNING_SECRET: config.signingSecret,
    SLACK_API_URL: config.slackApiUrl,
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    BREAKGLASS_QUEUE: config.queueName,
    BREAKGLASS_POLICY: 'bench-policy.yaml',
    LOG_LEVEL: config.logLevel,
    EXPIRY_CONCURRENCY: config.expiryConcurrency !== undefined ? String(config.expiryConcurrency) : process.env.EXPIRY_CONCURRENCY,
    SLACK_FOLLOW_UP_CONCURRENCY: process.env.SLACK_FOLLOW_UP_CONCURRENCY,
    BREAKGLASS_ROLE: config.role,
    HEAP_GROWING_PERCENT: process.env.HEAP_GROWING_PERCENT,
  }),
  port: 0,
};
// As main.ts does, before the bot is built (HEAP_GROWING_PERCENT, or BENCH_BOT_NODE_FLAGS=--heap-growing-percent=N,
// to compare).
limitHeapGrowth(appConfig.heapGrowingPercent);
const bot = createBreakglass({
  config: appConfig,
  policy: parsePolicy(config.policyYaml, 'bench-policy.yaml', {}),
  logger,
  createProvider: () => new NoopProvider(config.sharing, config.providerLatencyMs),
});

// How long callbacks (an ack among them) waited for the event loop: sampled every 5 ms, reset by the driver.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

serve(
  {
    start: () => bot.start(),
    resetLoopDelay: () => loopDelay.reset(),
    /** Event-loop delay since the last reset, in ms (the timer's own 5 ms resolution subtracted by Node). */
    loopDelay: () => ({ p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 }),
    counters,
    resetCounters,
    expiryCalls,
    memory,
    peakRss: () => Math.max(peakRss, process.memoryUsage().rss),
    resetPeakRss: () => {
      peakRss = process.memoryUsage().rss;
    },
    /** CPU time of this process so far (user + system, µs). */
    cpuUsage: () => process.cpuUsage(),
    /** Memory after a full collection (needs --expose-gc). */
    memoryAfterGc: () => {
      global.gc?.();
      return memory();
    },
    /** One reconciler pass, timed, with the peak RSS seen while it ran (sampled every 20 ms). */
    reconcile: async () => {
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
      const start = performance.now();
      const result = await bot.reconciler.run();
      const ms = performance.now() - start;
      clearInterval(sampler);
      return { ...result, ms, peakRss: Math.max(peakRss, process.memoryUsage().rss) };
    },
  },
  () => bot.stop(),
);
