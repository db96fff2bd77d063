/**
 * Revocation lag: N grants expiring within the same second, real Redis and PostgreSQL, a no-op provider.
 *
 *   npm run bench -- revocation [--grants 10000] [--channels 50] [--max-wait 180] [--cpu-prof]
 *       [--sharing login|request] [--provider-latency 0] [--slack-latency 0] [--bots 1] [--lead 20] [--stall 60]
 *       [--concurrency <EXPIRY_CONCURRENCY or 20>] [--analyze] [--split]
 *
 * 1. Floor: N plain BullMQ delayed jobs, due within one second, on a Worker with the bot's expiry concurrency
 *    (--concurrency, else the EXPIRY_CONCURRENCY environment variable, else the app's default 20) whose processor
 *    does nothing. Lag = now − due, when picked up and when BullMQ reports the job completed.
 * 2. The bot (bench/processes/bot.ts: createBreakglass with a no-op provider) is started on an empty database,
 *    then N ACTIVE requests (+ approval, grant, audit rows; one requester each, spread round-robin over
 *    --channels channels) are written directly and their expiry jobs scheduled through the app's
 *    ExpiryQueue.schedule, all expiring within one second ~20 s later. Lags from expiresAt:
 *    - picked up: the expiry job's processExpiry call started (counted in the bot process);
 *    - revoked in DB: the request's endedAt (stamped just before the EXPIRED transaction commits);
 *    - summary posted: the fake Slack received the channel's audit-summary chat.postMessage (recognized by its
 *      "Audit summary … BG-<n>" text; merged summaries count for every BG-<n> they name). Summaries not posted
 *      within --max-wait seconds of the due second count as ∞.
 *    Meanwhile `/breakglass help` is sent to the bot 5 times a second to see whether its acks suffer.
 * Also reported: SQL statements, Redis commands and Slack calls per expiry, pool waits, CPU per process (from
 * /proc), and chat.postMessage per 10 s split into channel summaries and thread replies.
 * The due second is placed 10–40 s past a minute boundary so the minute-aligned reconcile job does not sweep the
 * seeded grants while they are being seeded; any reconcile run that overlaps the burst is reported.
 * --provider-latency adds a delay to each provider call (a real target); --slack-latency to each Slack answer;
 * --bots N runs N bot processes on the same queue. --concurrency N is passed to the bot as EXPIRY_CONCURRENCY (the
 * expiry worker's concurrency; src/db/prisma.ts sizes the pool from it, + 10). --analyze runs ANALYZE after seeding
 * (planner statistics, which a cluster with autovacuum off never gathers for the fresh bench database). --split adds
 * a --role=web process that takes the ack probes, and runs the --bots processes as --role=worker.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ExpiryQueue } from '../src/jobs/expiry-queue';
import { ActionIds } from '../src/slack/blocks/action-ids';
import { SlackRequestSender } from '../test/support/slack-request-signer';
import { Child } from './lib/child';
import { CpuMeter, type CpuReport } from './lib/cpu';
import type { Counters, ExpiryCall } from './lib/instrument';
import {
  BENCH_DATABASE,
  BENCH_POLICY,
  BOT_TOKEN,
  channelIds,
  createBenchDatabase,
  dropBenchDatabase,
  GROUP_ID,
  GROUP_MEMBERS,
  numberOption,
  obliterateQueue,
  openDb,
  parseOptions,
  PG_ADMIN_URL,
  REDIS_URL,
  RESULTS_DIR,
  APPROVERS,
  seedActiveGrants,
  seedPendingRequests,
  type SeededRequest,
  scheduleExpiries,
  SIGNING_SECRET,
  sleep,
  uniqueQueueName,
} from './lib/setup';
import { distribution, LATENCY_HEADERS, latencyRow, mib, ms, ratio, table, type Distribution } from './lib/stats';
import type { BotConfig, MemorySample } from './processes/bot';
import type { SummaryPost } from './processes/fake-slack';

/** Event-loop delay percentiles in ms (bench/processes/bot.ts, monitorEventLoopDelay). */
interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** The app's default EXPIRY_CONCURRENCY (src/config/env.ts); the floor uses the bot's concurrency. */
const DEFAULT_CONCURRENCY = 20;

export interface RevocationOptions {
  grants: number;
  channels: number;
  slackLatencyMs: number;
  cpuProf: boolean;
  /** ANALYZE the seeded tables before the burst (production databases have planner statistics; a cluster with
   * autovacuum off, like this machine's, leaves the freshly created bench database without any). */
  analyze: boolean;
  /** One more bot process with --role=web takes Slack's requests (the ack probes); the --bots processes run as
   * --role=worker. */
  split: boolean;
  /** Seconds from start of seeding to the due second (at least). */
  leadSeconds: number;
  /** Give up when nothing progressed (no request EXPIRED, no chat.postMessage) for this long. */
  stallSeconds: number;
  /** Stop waiting for summaries this long after the due second (paced summaries in one channel take long). */
  maxWaitSeconds: number;
  sharing: 'login' | 'request';
  /** Bot processes sharing the queue (horizontal scaling). */
  bots: number;
  /** Added to every provider call (grant, revoke, verify), standing in for a real target. */
  providerLatencyMs: number;
  /** The bot's EXPIRY_CONCURRENCY, and the floor worker's concurrency. */
  concurrency: number;
}

export interface RevocationResult {
  options: RevocationOptions;
  floor: { pickedUp: Distribution; completed: Distribution; lastCompletedS: number; cpu: CpuReport };
  app: {
    pickedUp: Distribution;
    revoked: Distribution;
    summary: Distribution;
    serviceMs: Distribution;
    untilRevokedMs: Distribution;
    afterRevokedMs: Distribution;
    expired: number;
    summarized: number;
    lastRevokedS: number;
    lastSummaryS: number;
    revokedPerSecond: number;
    expiryCallsPerRequest: number;
    /** SQL statement wall time by kind, from the due second to the end of the measurement (all bot processes). */
    sqlMs: Counters['sqlMs'];
    perExpiry: { sql: Record<string, number>; sqlTotal: number; redis: Record<string, number>; redisTotal: number; slack: Record<string, number> };
    poolWait: Distribution;
    summaryChannels: { channels: number; maxPerChannel: number; maxPerChannelPerSecond: number; messages: number };
    reconcileRunsDuringBurst: Array<{ startS: number; endS: number; checked: number }>;
    seedingMs: number;
    /** From just before the due second until the last request was EXPIRED. */
    cpu: CpuReport;
    /** The bot's memory when the measurement ended (Slack posts still queued in the pacer are held in it). */
    botMemoryAtEnd: MemorySample;
    /** The (first) bot's highest RSS from just before the due second to the end of the measurement. */
    botPeakRss: number;
    /** `/breakglass help` sent 5 times a second to the (first) bot from 2 s before the due second until the last
     * request was EXPIRED: how long Slack would wait for the ack meanwhile. */
    acksDuringBurst: Distribution;
    acksOver3s: number;
    /** Approve clicked (completing the quorum of a seeded PENDING request) 5 times a second alongside the help probe. */
    approveAcksDuringBurst: Distribution;
    /** The same two probes against a bare Bolt app (bench/processes/bare-bolt.ts) while nothing else runs, just
     * before the burst: the reference for the ack targets (≤ 1.5× its p99). */
    bareIdle: { help: Distribution; approve: Distribution };
    /** Event-loop delay of the probed process (the first bot, or the web process with --split) while the probes ran. */
    loopDelay: LoopDelay | null;
    postTimeline: Array<{ fromS: number; summary: number; thread: number; other: number }>;
  };
  report: string;
}

export function revocationOptions(argv: string[]): RevocationOptions {
  const options = parseOptions(argv);
  return {
    grants: numberOption(options, 'grants', 10_000),
    channels: numberOption(options, 'channels', 50),
    slackLatencyMs: numberOption(options, 'slack-latency', 0),
    cpuProf: options.has('cpu-prof'),
    analyze: options.has('analyze'),
    split: options.has('split'),
    leadSeconds: numberOption(options, 'lead', 20),
    stallSeconds: numberOption(options, 'stall', 60),
    maxWaitSeconds: numberOption(options, 'max-wait', 180),
    sharing: options.get('sharing') === 'request' ? 'request' : 'login',
    bots: numberOption(options, 'bots', 1),
    providerLatencyMs: numberOption(options, 'provider-latency', 0),
    concurrency: numberOption(options, 'concurrency', Number(process.env.EXPIRY_CONCURRENCY || DEFAULT_CONCURRENCY)),
  };
}

/** The first whole second at least `leadMs` away that lies 10–40 s past a minute boundary. */
function dueSecond(leadMs: number): number {
  let due = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  while (due % 60_000 < 10_000 || due % 60_000 > 40_000) due += 1000;
  return due;
}

/** When item i of n is due: spread evenly over one second. */
const dueAt = (second: number, i: number, n: number) => second + Math.floor((i * 1000) / n);

async function runFloor(options: RevocationOptions): Promise<RevocationResult['floor']> {
  const queueName = uniqueQueueName('floor');
  const worker = await Child.start('floor-worker', { config: { redisUrl: REDIS_URL, queueName, concurrency: options.concurrency } });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const queue = new Queue<{ due: number }>(queueName, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: false } });
  try {
    await worker.call('start');
    const meter = await CpuMeter.start({ adminUrl: PG_ADMIN_URL, database: BENCH_DATABASE, processes: [{ role: 'floor worker', pid: worker.pid }] });
    const n = options.grants;
    const second = Math.ceil((Date.now() + 8000) / 1000) * 1000;
    for (let i = 0; i < n; i += 1000) {
      const now = Date.now();
      const batch = Array.from({ length: Math.min(1000, n - i) }, (_, k) => {
        const due = dueAt(second, i + k, n);
        return { name: 'noop', data: { due }, opts: { delay: due - now } };
      });
      await queue.addBulk(batch);
    }
    if (Date.now() > second - 1000) console.warn('floor: adding the jobs overran the due second; raise the lead');
    const results = await waitUntil(
      async () => {
        const r = await worker.call<{ pickedUp: number[]; completed: number[]; lastCompletedAt: number }>('results');
        return { done: r.completed.length >= n, progress: r.completed.length, value: r };
      },
      second,
      options.stallSeconds,
    );
    const cpu = await meter.report();
    return { pickedUp: distribution(results.pickedUp), completed: distribution(results.completed), lastCompletedS: (results.lastCompletedAt - second) / 1000, cpu };
  } finally {
    await worker.stop();
    await queue.close();
    await connection.quit();
    await obliterateQueue(queueName);
  }
}

/** Polls `check` every 500 ms until it says done; throws when `progress` did not move for `stallSeconds` after
 * `dueAtMs`. */
async function waitUntil<T>(check: () => Promise<{ done: boolean; progress: number; value: T }>, dueAtMs: number, stallSeconds: number): Promise<T> {
  let lastProgress = -1;
  let lastChange = Math.max(Date.now(), dueAtMs);
  for (;;) {
    const { done, progress, value } = await check();
    if (done) return value;
    if (progress !== lastProgress) {
      lastProgress = progress;
      lastChange = Math.max(Date.now(), dueAtMs);
    } else if (Date.now() - lastChange > stallSeconds * 1000) {
      throw new Error(`no progress for ${stallSeconds} s (stuck at ${progress})`);
    }
    await sleep(500);
  }
}

async function runApp(options: RevocationOptions, databaseUrl: string, slack: Child, slackApiUrl: string): Promise<RevocationResult['app']> {
  const n = options.grants;
  const queueName = uniqueQueueName('expiry');
  const botConfig: BotConfig = {
    slackApiUrl,
    databaseUrl,
    redisUrl: REDIS_URL,
    queueName,
    policyYaml: BENCH_POLICY,
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    logLevel: 'info',
    sharing: options.sharing,
    providerLatencyMs: options.providerLatencyMs,
    expiryConcurrency: options.concurrency,
  };
  const bots: Child[] = [];
  const db = openDb(databaseUrl);
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const expiryQueue = new ExpiryQueue(connection, queueName);
  try {
    const roles: Array<BotConfig['role']> = options.split ? ['web', ...Array(options.bots).fill('worker')] : Array(options.bots).fill('all');
    for (const [b, role] of roles.entries()) {
      const profile = ['--cpu-prof', `--cpu-prof-dir=${RESULTS_DIR}`, `--cpu-prof-name=revocation-bot${b ? `-${b + 1}` : ''}.cpuprofile`];
      bots.push(await Child.start('bot', { config: { ...botConfig, role }, nodeFlags: options.cpuProf ? profile : [] }));
    }
    const ports = await Promise.all(bots.map((bot) => bot.call<number>('start')));
    const pending = await seedPendingRequests(db, { count: ACK_PROBE_APPROVALS, channels: [PROBE_CHANNEL] });
    const prober = new AckProber(`http://127.0.0.1:${ports[0]}`, new URL(slackApiUrl).origin, pending);
    const seedStart = Date.now();
    const second = dueSecond(options.leadSeconds * 1000);
    const seeded = await seedActiveGrants(db, { count: n, channels: channelIds(options.channels), expiresAt: (i) => new Date(dueAt(second, i, n)) });
    await scheduleExpiries(
      expiryQueue,
      seeded.map((request, i) => ({ id: request.id, at: new Date(dueAt(second, i, n)) })),
    );
    if (options.analyze) await db.$executeRawUnsafe('ANALYZE');
    const seedingMs = Date.now() - seedStart;
    if (Date.now() > second - 1000) console.warn(`app: seeding took ${seedingMs} ms and overran the due second; raise --lead`);
    await Promise.all(bots.map((bot) => bot.call('resetCounters')));
    await Promise.all(bots.map((bot) => bot.call('resetPeakRss')));
    await slack.call('clear');
    const meter = await CpuMeter.start({
      adminUrl: PG_ADMIN_URL,
      database: BENCH_DATABASE,
      processes: [...bots.map((bot) => ({ role: 'bot', pid: bot.pid })), { role: 'fake Slack', pid: slack.pid }, { role: 'driver (polling, ack probes)', pid: process.pid }],
    });
    let cpu: CpuReport | null = null;
    let loopDelay: LoopDelay | null = null;
    console.error(`  seeded ${n} grants in ${seedingMs} ms; due at ${new Date(second).toISOString()}`);
    // The ack reference: a bare Bolt app probed the same way while nothing else runs, if there is time before the burst.
    let bareIdle = { help: distribution([]), approve: distribution([]) };
    if (second - Date.now() > BARE_IDLE_PROBE_MS + 6_000) {
      const bare = await Child.start('bare-bolt', { config: { slackApiUrl, signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN } });
      try {
        const barePort = await bare.call<number>('start');
        const bareProber = new AckProber(`http://127.0.0.1:${barePort}`, new URL(slackApiUrl).origin, pending);
        bareProber.start();
        await sleep(BARE_IDLE_PROBE_MS);
        bareProber.stop();
        await bareProber.idle();
        bareIdle = { help: distribution(bareProber.latencies), approve: distribution(bareProber.approveLatencies) };
      } finally {
        await bare.stop();
      }
    }
    await sleep(Math.max(0, second - 2000 - Date.now()));
    await bots[0].call('resetLoopDelay');
    prober.start();

    await waitUntil(
      async () => {
        const expired = await db.accessRequest.count({ where: { status: 'EXPIRED' } });
        const summarized = await slack.call<number>('summaryCount');
        if (!cpu) {
          if (expired >= n) {
            cpu = await meter.report();
            prober.stop();
            loopDelay = await bots[0].call<LoopDelay>('loopDelay');
          } else await meter.sample();
        }
        const timeUp = Date.now() > second + options.maxWaitSeconds * 1000;
        // Thread replies count as progress too: the pacer may post nothing but thread replies for over a minute while
        // summaries wait behind them (docs/benchmarks.md, finding 2), and that is not a stall.
        const posted = (await slack.call<Record<string, number>>('methodCounts'))['chat.postMessage'] ?? 0;
        return { done: expired >= n && (summarized >= n || timeUp), progress: expired + summarized + posted, value: null };
      },
      second,
      options.stallSeconds,
    ).catch((err) => console.warn(`app: ${(err as Error).message}; reporting what finished`));
    cpu ??= await meter.report();
    prober.stop();
    loopDelay ??= await bots[0].call<LoopDelay>('loopDelay');
    await prober.idle();
    await sleep(500);

    // The burst's grants (not the ack probes' requests).
    const rows = await db.accessRequest.findMany({
      where: { channelId: { not: PROBE_CHANNEL } },
      select: { id: true, number: true, status: true, expiresAt: true, endedAt: true },
    });
    const summaries = await slack.call<SummaryPost[]>('summaries');
    const posts = await slack.call<Array<{ at: number; kind: 'summary' | 'thread' | 'other' }>>('posts');
    // chat.postMessage per 10 s after the due second, by kind: shows how paced summaries wait behind thread replies.
    const postTimeline: Array<{ fromS: number; summary: number; thread: number; other: number }> = [];
    for (const post of posts) {
      const bucket = Math.max(0, Math.floor((post.at - second) / 10_000));
      while (postTimeline.length <= bucket) postTimeline.push({ fromS: postTimeline.length * 10, summary: 0, thread: 0, other: 0 });
      postTimeline[bucket][post.kind]++;
    }
    const calls = (await Promise.all(bots.map((bot) => bot.call<ExpiryCall[]>('expiryCalls')))).flat();
    const counts = mergeCounters(await Promise.all(bots.map((bot) => bot.call<Counters>('counters'))));
    const slackCounts = await slack.call<Record<string, number>>('methodCounts');
    const botMemoryAtEnd = await bots[0].call<MemorySample>('memory');
    const botPeakRss = await bots[0].call<number>('peakRss');

    const firstSummaryAt = new Map<number, number>();
    for (const summary of summaries) for (const number of summary.numbers) if (!firstSummaryAt.has(number)) firstSummaryAt.set(number, summary.at);
    const callsByRequest = new Map<string, ExpiryCall[]>();
    for (const call of calls) callsByRequest.set(call.requestId, [...(callsByRequest.get(call.requestId) ?? []), call]);

    const pickedUp: number[] = [];
    const revoked: number[] = [];
    const summary: number[] = [];
    const serviceMs: number[] = [];
    const untilRevokedMs: number[] = [];
    const afterRevokedMs: number[] = [];
    let lastRevoked = 0;
    let lastSummary = 0;
    for (const row of rows) {
      const due = row.expiresAt!.getTime();
      const runs = callsByRequest.get(row.id) ?? [];
      // The run that did the work: the first one that started after the due time.
      const run = runs.find((call) => call.start >= due) ?? runs[0];
      if (run) pickedUp.push(run.start - due);
      if (row.status !== 'EXPIRED' || !row.endedAt) revoked.push(Number.POSITIVE_INFINITY);
      else {
        const ended = row.endedAt.getTime();
        revoked.push(ended - due);
        lastRevoked = Math.max(lastRevoked, ended);
        if (run) {
          serviceMs.push(run.end - run.start);
          untilRevokedMs.push(ended - run.start);
          afterRevokedMs.push(run.end - ended);
        }
      }
      const posted = firstSummaryAt.get(row.number);
      if (posted === undefined) summary.push(Number.POSITIVE_INFINITY);
      else {
        summary.push(posted - due);
        lastSummary = Math.max(lastSummary, posted);
      }
    }

    const perChannel = new Map<string, number[]>();
    for (const post of summaries) perChannel.set(post.channel, [...(perChannel.get(post.channel) ?? []), post.at]);
    let maxPerChannelPerSecond = 0;
    for (const times of perChannel.values()) {
      const buckets = new Map<number, number>();
      for (const at of times) buckets.set(Math.floor(at / 1000), (buckets.get(Math.floor(at / 1000)) ?? 0) + 1);
      maxPerChannelPerSecond = Math.max(maxPerChannelPerSecond, ...buckets.values());
    }
    const burstEnd = Math.max(lastRevoked, lastSummary);
    const per = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).map(([key, count]) => [key, count / n]));

    return {
      pickedUp: distribution(pickedUp),
      revoked: distribution(revoked),
      summary: distribution(summary),
      serviceMs: distribution(serviceMs),
      untilRevokedMs: distribution(untilRevokedMs),
      afterRevokedMs: distribution(afterRevokedMs),
      expired: revoked.filter(Number.isFinite).length,
      summarized: summary.filter(Number.isFinite).length,
      lastRevokedS: (lastRevoked - second) / 1000,
      lastSummaryS: (lastSummary - second) / 1000,
      revokedPerSecond: revoked.filter(Number.isFinite).length / Math.max(0.001, (lastRevoked - second) / 1000),
      expiryCallsPerRequest: calls.length / n,
      sqlMs: counts.sqlMs,
      perExpiry: { sql: per(counts.sql), sqlTotal: counts.sqlTotal / n, redis: per(counts.redis), redisTotal: counts.redisTotal / n, slack: per(slackCounts) },
      poolWait: distribution(counts.poolWaitMs),
      summaryChannels: {
        channels: perChannel.size,
        messages: summaries.length,
        maxPerChannel: Math.max(0, ...[...perChannel.values()].map((times) => times.length)),
        maxPerChannelPerSecond,
      },
      reconcileRunsDuringBurst: counts.reconcileRuns
        .filter((run) => run.end >= second && run.start <= burstEnd)
        .map((run) => ({ startS: (run.start - second) / 1000, endS: (run.end - second) / 1000, checked: run.checked })),
      seedingMs,
      cpu,
      botMemoryAtEnd,
      botPeakRss,
      postTimeline,
      acksDuringBurst: distribution(prober.latencies),
      acksOver3s: prober.latencies.filter((latency) => latency > 3000).length,
      approveAcksDuringBurst: distribution(prober.approveLatencies),
      bareIdle,
      loopDelay,
    };
  } finally {
    for (const bot of bots) await bot.stop();
    await expiryQueue.close();
    await connection.quit();
    await db.$disconnect();
    await obliterateQueue(queueName);
  }
}

export async function runRevocation(options: RevocationOptions): Promise<RevocationResult> {
  const databaseUrl = await createBenchDatabase();
  const slack = await Child.start('fake-slack', { config: { latencyMs: options.slackLatencyMs } });
  try {
    const slackApiUrl = await slack.call<string>('start');
    await slack.call('setUserGroup', GROUP_ID, GROUP_MEMBERS);
    console.error(`revocation: floor, ${options.grants} no-op BullMQ jobs…`);
    const floor = await runFloor(options);
    console.error(`revocation: app, ${options.grants} grants over ${options.channels} channel(s), Slack latency ${options.slackLatencyMs} ms, concurrency ${options.concurrency}…`);
    const app = await runApp(options, databaseUrl, slack, slackApiUrl);
    return { options, floor, app, report: report(options, floor, app) };
  } finally {
    await slack.stop();
    await dropBenchDatabase();
  }
}

function report(options: RevocationOptions, floor: RevocationResult['floor'], app: RevocationResult['app']): string {
  const floorP99 = floor.completed.p99;
  const verdict = (d: Distribution) => `${ratio(d.p99, floorP99)}${d.p99 <= 1.5 * floorP99 && d.p99 < 2000 ? ' ✅' : ' ❌'}`;
  const lines = [
    `### Revocation lag — ${options.grants.toLocaleString('en-US')} grants due within one second, ${options.channels} channel(s), ` +
      `Slack latency ${options.slackLatencyMs} ms, provider latency ${options.providerLatencyMs} ms, sharing '${options.sharing}', ${options.bots} bot process(es)${options.split ? ' as workers + 1 web process' : ''}, ` +
      `expiry concurrency ${options.concurrency} (pool ${options.concurrency + 10})`,
    '',
    table(
      [...LATENCY_HEADERS, 'p99 / floor p99'],
      [
        latencyRow('floor: BullMQ no-op job picked up', floor.pickedUp, ''),
        latencyRow('floor: BullMQ no-op job completed', floor.completed, '1.00×'),
        latencyRow('app: expiry job picked up', app.pickedUp, ratio(app.pickedUp.p99, floorP99)),
        latencyRow('app: revoked in DB (endedAt)', app.revoked, verdict(app.revoked)),
        latencyRow('app: channel summary posted', app.summary, verdict(app.summary)),
        latencyRow('ack of /breakglass help during the burst', app.acksDuringBurst, `${app.acksOver3s} over 3 s`),
        latencyRow('ack of Approve during the burst', app.approveAcksDuringBurst, ''),
        latencyRow('bare Bolt idle: ack of /breakglass help', app.bareIdle.help, ''),
        latencyRow('bare Bolt idle: ack of Approve', app.bareIdle.approve, ''),
      ],
    ),
    '',
    `Ack target: p99 during the burst ≤ 1.5 × bare Bolt's idle p99: help ${ratio(app.acksDuringBurst.p99, app.bareIdle.help.p99)}, ` +
      `Approve ${ratio(app.approveAcksDuringBurst.p99, app.bareIdle.approve.p99)}. ` +
      (app.loopDelay ? `Event-loop delay of the probed process meanwhile: p50 ${ms(app.loopDelay.p50)} ms, p99 ${ms(app.loopDelay.p99)} ms, max ${ms(app.loopDelay.max)} ms.` : ''),
    '',
    `Target: p99 ≤ 1.5 × floor p99 (${ms(1.5 * floorP99)} ms) and < 2,000 ms. ` +
      `Expired ${app.expired}/${options.grants}, summarized ${app.summarized}/${options.grants}; last revoked ${app.lastRevokedS.toFixed(1)} s and last summary ` +
      `${app.lastSummaryS.toFixed(1)} s after the due second (floor: last completed ${floor.lastCompletedS.toFixed(1)} s); ` +
      `${Math.round(app.revokedPerSecond)} revocations/s. Seeding took ${(app.seedingMs / 1000).toFixed(1)} s.`,
    '',
    table(
      [...LATENCY_HEADERS],
      [
        latencyRow('processExpiry call, start → return', app.serviceMs),
        latencyRow('  start → endedAt stamped (read, → REVOKING, re-read, provider)', app.untilRevokedMs),
        latencyRow('  endedAt stamped → return (final transaction, notifier hand-off)', app.afterRevokedMs),
        latencyRow('pg pool checkout wait (all bot queries)', app.poolWait),
      ],
    ),
    '',
    cpuTable(floor.cpu, app.cpu, options.grants),
    '',
    `Per expiry: ${app.perExpiry.sqlTotal.toFixed(1)} SQL statements, ${app.perExpiry.redisTotal.toFixed(1)} Redis commands, ` +
      `${Object.values(app.perExpiry.slack)
        .reduce((a, b) => a + b, 0)
        .toFixed(1)} Slack calls, ${app.expiryCallsPerRequest.toFixed(2)} processExpiry calls.`,
    '',
    table(
      ['per expiry', 'count'],
      [
        ...Object.entries(app.perExpiry.sql).map(([kind, count]) => [`SQL ${kind}`, count.toFixed(2)]),
        ...Object.entries(app.perExpiry.redis).map(([kind, count]) => [`Redis ${kind}`, count.toFixed(2)]),
        ...Object.entries(app.perExpiry.slack).map(([method, count]) => [`Slack ${method}`, count.toFixed(2)]),
      ],
    ),
    '',
    'SQL statements by wall time, send to answer (lock waits and CPU contention included), all bot processes: the sweep is `WITH own` (claim), ' +
      '`SELECT` (access locks, other holders), `WITH outcome` (its record), `UPDATE Extension`, `INSERT Effect`, `COMMIT`.',
    '',
    table(
      ['statement', 'count', 'total ms', 'mean ms', 'max ms'],
      Object.entries(app.sqlMs)
        .slice(0, 14)
        .map(([kind, t]) => [kind, String(t.count), ms(t.totalMs), (t.totalMs / Math.max(1, t.count)).toFixed(1), ms(t.maxMs)]),
    ),
    '',
    `Channel summaries: ${app.summaryChannels.messages} messages in ${app.summaryChannels.channels} channel(s), at most ${app.summaryChannels.maxPerChannel} ` +
      `in one channel and ${app.summaryChannels.maxPerChannelPerSecond} in one channel within one wall-clock second ` +
      `(Slack allows about 1/s per channel). Reconcile runs overlapping the burst: ${
        app.reconcileRunsDuringBurst.length
          ? app.reconcileRunsDuringBurst.map((run) => `${run.startS.toFixed(1)}–${run.endS.toFixed(1)} s (${run.checked} checked)`).join(', ')
          : 'none'
      }. Bot memory: peak RSS ${mib(app.botPeakRss)} MiB during the burst; at the end RSS ${mib(app.botMemoryAtEnd.rss)} MiB, heapUsed ${mib(app.botMemoryAtEnd.heapUsed)} MiB.`,
    '',
    `chat.postMessage per 10 s after the due second (channel summary messages / thread replies): ` +
      app.postTimeline.map((bucket) => `${bucket.fromS}s ${bucket.summary}/${bucket.thread}`).join(', ') +
      '.',
  ];
  return lines.join('\n');
}

function mergeTimings(all: Array<Counters['sqlMs']>): Counters['sqlMs'] {
  const sum: Counters['sqlMs'] = {};
  for (const timings of all) {
    for (const [kind, t] of Object.entries(timings)) {
      sum[kind] ??= { count: 0, totalMs: 0, maxMs: 0 };
      const into = sum[kind];
      into.count += t.count;
      into.totalMs += t.totalMs;
      into.maxMs = Math.max(into.maxMs, t.maxMs);
    }
  }
  return Object.fromEntries(Object.entries(sum).sort((a, b) => b[1].totalMs - a[1].totalMs));
}

/** Sums the counters of several bot processes. */
function mergeCounters(all: Counters[]): Counters {
  const add = (records: Array<Record<string, number>>) => {
    const sum: Record<string, number> = {};
    for (const record of records) for (const [key, value] of Object.entries(record)) sum[key] = (sum[key] ?? 0) + value;
    return Object.fromEntries(Object.entries(sum).sort((a, b) => b[1] - a[1]));
  };
  return {
    sql: add(all.map((c) => c.sql)),
    sqlMs: mergeTimings(all.map((c) => c.sqlMs)),
    sqlTotal: all.reduce((total, c) => total + c.sqlTotal, 0),
    poolAcquisitions: all.reduce((total, c) => total + c.poolAcquisitions, 0),
    poolWaitMs: all.flatMap((c) => c.poolWaitMs),
    redis: add(all.map((c) => c.redis)),
    redisTotal: all.reduce((total, c) => total + c.redisTotal, 0),
    reconcileRuns: all.flatMap((c) => c.reconcileRuns),
    followUps: all.flatMap((c) => c.followUps),
    followUpOverflows: all.reduce((total, c) => total + c.followUpOverflows, 0),
  };
}

/** Seeded PENDING requests the probes approve, one click each (the bare Bolt reference clicks the first ones too,
 * which changes nothing: it only acks). */
const ACK_PROBE_APPROVALS = 600;
const PROBE_CHANNEL = 'C0PROBE';
const BARE_IDLE_PROBE_MS = 5_000;

/** Sends `/breakglass help` every 200 ms while started, and clicks Approve on the next seeded PENDING request every
 * 200 ms (completing its quorum: grant, expiry job, message updates), and records how long each ack took. */
class AckProber {
  readonly latencies: number[] = [];
  readonly approveLatencies: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sender: SlackRequestSender;
  private sent = 0;
  private clicked = 0;

  constructor(
    botUrl: string,
    slackOrigin: string,
    private readonly pending: readonly SeededRequest[],
  ) {
    this.sender = new SlackRequestSender({ baseUrl: botUrl, signingSecret: SIGNING_SECRET, responseUrl: () => `${slackOrigin}/response_url/P${this.sent}` });
  }

  private probe(into: number[], send: () => Promise<unknown>): void {
    const start = performance.now();
    const probe = send()
      .then(() => {
        into.push(performance.now() - start);
      })
      .catch(() => {
        into.push(Number.POSITIVE_INFINITY);
      })
      .finally(() => this.inFlight.delete(probe));
    this.inFlight.add(probe);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.probe(this.latencies, () => this.sender.slashCommand({ userId: `U0PROBE${this.sent++ % 20}`, channelId: PROBE_CHANNEL, text: 'help' }));
      const request = this.pending[this.clicked++ % this.pending.length];
      this.probe(this.approveLatencies, () =>
        this.sender.blockAction({
          userId: APPROVERS[0],
          channelId: request.channelId,
          actionId: ActionIds.approve,
          value: request.id,
          messageTs: request.messageTs,
          buttonText: 'Approve',
        }),
      );
    }, 200);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async idle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}

/** CPU per component: the floor's and the app's, in total and per job. */
function cpuTable(floor: CpuReport, app: CpuReport, n: number): string {
  const roles = [...new Set([...Object.keys(app.components), ...Object.keys(floor.components)])];
  const cell = (report: CpuReport, role: string) => {
    const used = report.components[role];
    return used === undefined ? '–' : `${Math.round(used).toLocaleString('en-US')} ms (${((used / n) * 1000).toFixed(0)} µs/job)`;
  };
  const others = (report: CpuReport) => {
    const listed = Object.values(report.components).reduce((a, b) => a + b, 0);
    return `${Math.round(Math.max(0, report.machineBusy * report.wallMs * report.cores - listed)).toLocaleString('en-US')} ms`;
  };
  return [
    table(
      ['CPU during the burst', 'floor', 'app'],
      [
        ...roles.map((role) => [role, cell(floor, role), cell(app, role)]),
        ['everything else on the machine (other users, kernel)', others(floor), others(app)],
        ['wall time of the window', `${Math.round(floor.wallMs).toLocaleString('en-US')} ms`, `${Math.round(app.wallMs).toLocaleString('en-US')} ms`],
        [`machine busy (${app.cores} cores, all processes)`, `${(floor.machineBusy * 100).toFixed(0)} %`, `${(app.machineBusy * 100).toFixed(0)} %`],
      ],
    ),
    '',
    'Windows: from a few seconds before the due second until the last job completed (floor) or the last request was EXPIRED (app).',
  ].join('\n');
}

if (require.main === module) {
  runRevocation(revocationOptions(process.argv.slice(2)))
    .then((result) => console.log(result.report))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
