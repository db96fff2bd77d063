/**
 * Memory: resident set size and heap of the bot process, idle and with N active grants after the reconciler ran
 * over them.
 *
 *   npm run bench -- memory [--grants 10000] [--settle 60]
 *
 * The bot (bench/processes/bot.ts, run with --expose-gc) starts on an empty database; "idle" is sampled 3 s after
 * start, and again --settle seconds (60) after start: V8 shrinks an idle heap (its memory reducer) only from ~30 s
 * after start, so the later sample is what a bot holds while it waits for work. Then N ACTIVE requests (+ approval, grant, audit rows) are written directly with expiries an hour away and
 * their expiry jobs scheduled through the app's ExpiryQueue; the reconciler is run in the bot (timed, with its peak
 * RSS), twice (the second pass sees a warm process); memory is sampled after it, as is, and after a full GC.
 */
import { Redis } from 'ioredis';
import { ExpiryQueue } from '../src/jobs/expiry-queue';
import { Child } from './lib/child';
import {
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
  REDIS_URL,
  scheduleExpiries,
  seedActiveGrants,
  SIGNING_SECRET,
  sleep,
  uniqueQueueName,
} from './lib/setup';
import { mib, ms, table } from './lib/stats';
import type { BotConfig, MemorySample } from './processes/bot';

export interface MemoryOptions {
  grants: number;
  channels: number;
  sharing: 'login' | 'request';
  /** Seconds after start for the settled idle sample. */
  settleSeconds: number;
}

interface ReconcileRun {
  checked: number;
  ms: number;
  peakRss: number;
}

export interface MemoryResult {
  options: MemoryOptions;
  idle: MemorySample;
  idleAfterGc: MemorySample;
  idleSettled: MemorySample;
  reconciles: ReconcileRun[];
  loaded: MemorySample;
  loadedAfterGc: MemorySample;
  reconcileRedisCommands: Record<string, number>;
  reconcileSqlStatements: number;
  report: string;
}

export function memoryOptions(argv: string[]): MemoryOptions {
  const options = parseOptions(argv);
  return {
    grants: numberOption(options, 'grants', 10_000),
    channels: numberOption(options, 'channels', 50),
    sharing: options.get('sharing') === 'request' ? 'request' : 'login',
    settleSeconds: numberOption(options, 'settle', 60),
  };
}

export async function runMemory(options: MemoryOptions): Promise<MemoryResult> {
  const databaseUrl = await createBenchDatabase();
  const queueName = uniqueQueueName('memory');
  const slack = await Child.start('fake-slack');
  const db = openDb(databaseUrl);
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const expiryQueue = new ExpiryQueue(connection, queueName);
  let bot: Child | null = null;
  try {
    const slackApiUrl = await slack.call<string>('start');
    await slack.call('setUserGroup', GROUP_ID, GROUP_MEMBERS);
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
    };
    bot = await Child.start('bot', { config: botConfig, nodeFlags: ['--expose-gc'] });
    await bot.call('start');
    const started = Date.now();
    await sleep(3000);
    const idle = await bot.call<MemorySample>('memory');
    const idleAfterGc = await bot.call<MemorySample>('memoryAfterGc');
    await sleep(Math.max(0, started + options.settleSeconds * 1000 - Date.now()));
    const idleSettled = await bot.call<MemorySample>('memory');

    console.error(`memory: seeding ${options.grants} active grants…`);
    const expiresAt = new Date(Date.now() + 3600_000);
    const seeded = await seedActiveGrants(db, { count: options.grants, channels: channelIds(options.channels), expiresAt: () => expiresAt });
    await scheduleExpiries(
      expiryQueue,
      seeded.map((request) => ({ id: request.id, at: expiresAt })),
    );

    await bot.call('resetCounters');
    const reconciles: ReconcileRun[] = [];
    reconciles.push(await bot.call<ReconcileRun>('reconcile'));
    const counters = await bot.call<{ redis: Record<string, number>; sqlTotal: number }>('counters');
    reconciles.push(await bot.call<ReconcileRun>('reconcile'));
    const loaded = await bot.call<MemorySample>('memory');
    const loadedAfterGc = await bot.call<MemorySample>('memoryAfterGc');
    const result = {
      options,
      idle,
      idleAfterGc,
      idleSettled,
      reconciles,
      loaded,
      loadedAfterGc,
      reconcileRedisCommands: counters.redis,
      reconcileSqlStatements: counters.sqlTotal,
    };
    return { ...result, report: report(result) };
  } finally {
    await bot?.stop();
    await slack.stop();
    await expiryQueue.close();
    await connection.quit();
    await db.$disconnect();
    await obliterateQueue(queueName);
    await dropBenchDatabase();
  }
}

function report(result: Omit<MemoryResult, 'report'>): string {
  const row = (name: string, sample: MemorySample) => [
    name,
    mib(sample.rss),
    `${mib(sample.rssAnon)} / ${mib(sample.rssFile)}`,
    mib(sample.heapUsed),
    mib(sample.heapTotal),
    mib(sample.external),
  ];
  const [first, second] = result.reconciles;
  const redisTotal = Object.values(result.reconcileRedisCommands).reduce((a, b) => a + b, 0);
  return [
    `### Memory — bot process, idle vs ${result.options.grants.toLocaleString('en-US')} active grants`,
    '',
    table(
      ['state', 'RSS MiB', 'of which anonymous / file-backed', 'heapUsed MiB', 'heapTotal MiB', 'external MiB'],
      [
        row('idle (3 s after start)', result.idle),
        row('idle, after full GC', result.idleAfterGc),
        row(`idle, ${result.options.settleSeconds} s after start`, result.idleSettled),
        [`peak during first reconcile`, mib(first.peakRss), '', '', '', ''],
        row(`${result.options.grants.toLocaleString('en-US')} active, after 2 reconciles`, result.loaded),
        row(`${result.options.grants.toLocaleString('en-US')} active, after full GC`, result.loadedAfterGc),
      ],
    ),
    '',
    `Reconciler over ${first.checked.toLocaleString('en-US')} active grants: ${ms(first.ms)} ms (first run), ${ms(second.ms)} ms (second run); ` +
      `first run: ${result.reconcileSqlStatements} SQL statements, ${redisTotal} Redis commands ` +
      `(${Object.entries(result.reconcileRedisCommands)
        .map(([name, count]) => `${name} ×${count}`)
        .join(', ')}).`,
  ].join('\n');
}

if (require.main === module) {
  runMemory(memoryOptions(process.argv.slice(2)))
    .then((result) => console.log(result.report))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
