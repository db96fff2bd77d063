/**
 * Ack latency: how long Slack waits for the HTTP answer to a slash command or a button click, with 100 requests in
 * flight at once, for the bot and for a bare Bolt app (same Bolt, ExpressReceiver, signing; listeners that only ack).
 *
 *   npm run bench -- ack [--concurrency 100] [--rounds 10] [--warmup 2] [--slack-latency 0]
 *
 * Each round sends `concurrency` correctly signed requests of one kind at once (test/support/slack-request-signer.ts)
 * and times each from send to the full HTTP response. Kinds:
 *   help     `/breakglass help` (acks, then answers with the requestable roles via response_url);
 *   request  a full inline request `/breakglass payments-db read 30m INC-n reason…` by a distinct user each
 *            (acks, then validates, looks the user up, writes the request and posts the approval message);
 *   approve  Approve clicked by an approver on a distinct PENDING request each (seeded directly), which completes
 *            the quorum: grant (no-op provider), expiry job, message updates.
 * Bot and bare app take turns round by round (the order alternating), after warm-up rounds; before the next round
 * the bot's follow-up work from the last one is allowed to finish (no new fake-Slack calls for 1.2 s: the per-channel pacer posts at most one message a second).
 */
import { DEFAULT_FOLLOW_UP_CONCURRENCY } from '../src/config/env';
import { ActionIds } from '../src/slack/blocks/action-ids';
import { SlackRequestSender, type SlackHttpResponse } from '../test/support/slack-request-signer';
import { Child } from './lib/child';
import {
  APPROVERS,
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
  RESULTS_DIR,
  seedPendingRequests,
  SIGNING_SECRET,
  sleep,
  uniqueQueueName,
  type SeededRequest,
} from './lib/setup';
import type { Counters } from './lib/instrument';
import { distribution, LATENCY_HEADERS, latencyRow, ms, ratio, table, type Distribution } from './lib/stats';
import type { BotConfig } from './processes/bot';

const KINDS = ['help', 'request', 'approve'] as const;
type Kind = (typeof KINDS)[number];
type Target = 'bare Bolt' | 'bot';

export interface AckOptions {
  concurrency: number;
  rounds: number;
  warmup: number;
  slackLatencyMs: number;
  channels: number;
  sharing: 'login' | 'request';
  cpuProf: boolean;
}

export interface AckResult {
  options: AckOptions;
  latencies: Record<Kind, Record<Target, Distribution>>;
  /** The slowest ack of each measured round, in order. */
  roundMaxima: Record<Kind, Record<Target, number[]>>;
  /** The bot's CPU per request of each kind (ms), over the measured rounds including their follow-up work. */
  botCpuMsPerRequest: Record<Kind, number>;
  /** SQL statements and Slack calls per request of each kind, follow-up work included. */
  botSqlPerRequest: Record<Kind, number>;
  slackCallsPerRequest: Record<Kind, number>;
  /** The bot's follow-ups (FollowUpGate.run) in the measured rounds: time waited for a slot, time run, and how many
   * ran past the limit after the gate's maximum wait. */
  followUps: Record<Kind, { waitMs: Distribution; runMs: Distribution; overflows: number }>;
  /** SLACK_FOLLOW_UP_CONCURRENCY the bot ran with. */
  followUpConcurrency: number;
  failures: Record<Target, number>;
  report: string;
}

export function ackOptions(argv: string[]): AckOptions {
  const options = parseOptions(argv);
  return {
    concurrency: numberOption(options, 'concurrency', 100),
    rounds: numberOption(options, 'rounds', 10),
    warmup: numberOption(options, 'warmup', 2),
    slackLatencyMs: numberOption(options, 'slack-latency', 0),
    channels: numberOption(options, 'channels', 50),
    sharing: options.get('sharing') === 'request' ? 'request' : 'login',
    cpuProf: options.has('cpu-prof'),
  };
}

/** Builds the i-th request of a kind, for either target (the bare app acks whatever arrives). */
function makeRequest(kind: Kind, i: number, sender: SlackRequestSender, channels: string[], pending: SeededRequest[]): Promise<SlackHttpResponse> {
  const channelId = channels[i % channels.length];
  switch (kind) {
    case 'help':
      return sender.slashCommand({ userId: `U0HELP${i % 500}`, channelId, text: 'help' });
    case 'request':
      return sender.slashCommand({
        userId: `U0REQ${i}`,
        channelId,
        text: `payments-db read 30m INC-${10_000 + i} payouts for merchant ${i} are stuck in "processing", need to check the ledger`,
      });
    case 'approve': {
      const request = pending[i];
      return sender.blockAction({
        userId: APPROVERS[i % APPROVERS.length],
        channelId: request.channelId,
        actionId: ActionIds.approve,
        value: request.id,
        messageTs: request.messageTs,
        buttonText: 'Approve',
      });
    }
  }
}

/** Waits until the fake Slack has seen no new call for `quietMs` (the bot's post-ack work is done). */
async function settle(slack: Child, quietMs = 1200, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await slack.call<number>('callCount');
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(50);
    const now = await slack.call<number>('callCount');
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) return;
  }
}

export async function runAck(options: AckOptions): Promise<AckResult> {
  const databaseUrl = await createBenchDatabase();
  const queueName = uniqueQueueName('ack');
  const slack = await Child.start('fake-slack', { config: { latencyMs: options.slackLatencyMs } });
  const db = openDb(databaseUrl);
  const children: Child[] = [slack];
  try {
    const slackApiUrl = await slack.call<string>('start');
    await slack.call('setUserGroup', GROUP_ID, GROUP_MEMBERS);
    const slackOrigin = new URL(slackApiUrl).origin;
    const channels = channelIds(options.channels);
    const perKind = (options.warmup + options.rounds) * options.concurrency;
    // Each approve round needs fresh pending requests; both targets get the same ids (the bare app ignores them).
    const pending = await seedPendingRequests(db, { count: perKind, channels });

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
    const bot = await Child.start('bot', {
      config: botConfig,
      nodeFlags: options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${RESULTS_DIR}`, '--cpu-prof-name=ack-bot.cpuprofile'] : [],
    });
    children.push(bot);
    const bare = await Child.start('bare-bolt', { config: { slackApiUrl, signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN } });
    children.push(bare);
    let responseUrls = 0;
    const senderFor = async (child: Child) =>
      new SlackRequestSender({
        baseUrl: `http://127.0.0.1:${await child.call<number>('start')}`,
        signingSecret: SIGNING_SECRET,
        responseUrl: () => `${slackOrigin}/response_url/R${++responseUrls}`,
      });
    const senders: Record<Target, SlackRequestSender> = { bot: await senderFor(bot), 'bare Bolt': await senderFor(bare) };

    const samples: Record<Kind, Record<Target, number[]>> = {
      help: { bot: [], 'bare Bolt': [] },
      request: { bot: [], 'bare Bolt': [] },
      approve: { bot: [], 'bare Bolt': [] },
    };
    /** The slowest ack of each measured round: shows whether a tail comes from every round or from one bad one. */
    const roundMaxima: Record<Kind, Record<Target, number[]>> = {
      help: { bot: [], 'bare Bolt': [] },
      request: { bot: [], 'bare Bolt': [] },
      approve: { bot: [], 'bare Bolt': [] },
    };
    const failures: Record<Target, number> = { bot: 0, 'bare Bolt': 0 };
    const next: Record<Kind, Record<Target, number>> = { help: { bot: 0, 'bare Bolt': 0 }, request: { bot: 0, 'bare Bolt': 0 }, approve: { bot: 0, 'bare Bolt': 0 } };

    const botCpuUs: Record<Kind, number> = { help: 0, request: 0, approve: 0 };
    const botSql: Record<Kind, number> = { help: 0, request: 0, approve: 0 };
    const slackCalls: Record<Kind, number> = { help: 0, request: 0, approve: 0 };
    const followUpWaits: Record<Kind, number[]> = { help: [], request: [], approve: [] };
    const followUpRuns: Record<Kind, number[]> = { help: [], request: [], approve: [] };
    const followUpOverflows: Record<Kind, number> = { help: 0, request: 0, approve: 0 };
    const cpuNow = async () => {
      const { user, system } = await bot.call<{ user: number; system: number }>('cpuUsage');
      return user + system;
    };

    const round = async (kind: Kind, target: Target, record: boolean) => {
      const cpuBefore = target === 'bot' ? await cpuNow() : 0;
      if (target === 'bot') await bot.call('resetCounters');
      const slackBefore = await slack.call<number>('callCount');
      const first = next[kind][target];
      next[kind][target] += options.concurrency;
      const timings = await Promise.all(
        Array.from({ length: options.concurrency }, async (_, k) => {
          const start = performance.now();
          const response = await makeRequest(kind, first + k, senders[target], channels, pending);
          const elapsed = performance.now() - start;
          if (response.status !== 200) failures[target]++;
          return elapsed;
        }),
      );
      if (record) {
        samples[kind][target].push(...timings);
        roundMaxima[kind][target].push(Math.max(...timings));
      }
      await settle(slack);
      if (record && target === 'bot') {
        botCpuUs[kind] += (await cpuNow()) - cpuBefore;
        const counters = await bot.call<Counters>('counters');
        botSql[kind] += counters.sqlTotal;
        followUpWaits[kind].push(...counters.followUps.map((call) => call.waitMs));
        followUpRuns[kind].push(...counters.followUps.map((call) => call.runMs));
        followUpOverflows[kind] += counters.followUpOverflows;
        slackCalls[kind] += (await slack.call<number>('callCount')) - slackBefore;
      }
    };

    for (let r = 0; r < options.warmup + options.rounds; r++) {
      const record = r >= options.warmup;
      const order: Target[] = r % 2 === 0 ? ['bare Bolt', 'bot'] : ['bot', 'bare Bolt'];
      for (const kind of KINDS) for (const target of order) await round(kind, target, record);
      console.error(`  ack: round ${r + 1}/${options.warmup + options.rounds}${record ? '' : ' (warm-up)'}`);
    }

    const latencies = Object.fromEntries(
      KINDS.map((kind) => [kind, { bot: distribution(samples[kind].bot), 'bare Bolt': distribution(samples[kind]['bare Bolt']) }]),
    ) as AckResult['latencies'];
    const requests = options.rounds * options.concurrency;
    const perRequest = (totals: Record<Kind, number>, scale = 1) => Object.fromEntries(KINDS.map((kind) => [kind, totals[kind] / scale / requests])) as Record<Kind, number>;
    const cost = { cpuMs: perRequest(botCpuUs, 1000), sql: perRequest(botSql), slack: perRequest(slackCalls) };
    const followUps = Object.fromEntries(
      KINDS.map((kind) => [kind, { waitMs: distribution(followUpWaits[kind]), runMs: distribution(followUpRuns[kind]), overflows: followUpOverflows[kind] }]),
    ) as AckResult['followUps'];
    const followUpConcurrency = Number(process.env.SLACK_FOLLOW_UP_CONCURRENCY || DEFAULT_FOLLOW_UP_CONCURRENCY);
    return {
      options,
      latencies,
      roundMaxima,
      failures,
      botCpuMsPerRequest: cost.cpuMs,
      botSqlPerRequest: cost.sql,
      slackCallsPerRequest: cost.slack,
      followUps,
      followUpConcurrency,
      report: report(options, latencies, roundMaxima, failures, cost, followUps, followUpConcurrency),
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await db.$disconnect();
    await obliterateQueue(queueName);
    await dropBenchDatabase();
  }
}

function report(
  options: AckOptions,
  latencies: AckResult['latencies'],
  roundMaxima: AckResult['roundMaxima'],
  failures: AckResult['failures'],
  cost: { cpuMs: Record<Kind, number>; sql: Record<Kind, number>; slack: Record<Kind, number> },
  followUps: AckResult['followUps'],
  followUpConcurrency: number,
): string {
  const rows: string[][] = [];
  for (const kind of KINDS) {
    const bare = latencies[kind]['bare Bolt'];
    const bot = latencies[kind].bot;
    rows.push(latencyRow(`${kind}: bare Bolt`, bare, ''));
    rows.push(latencyRow(`${kind}: bot`, bot, `${ratio(bot.p99, bare.p99)}${bot.p99 <= 1.5 * bare.p99 ? ' ✅' : ' ❌'}`));
  }
  return [
    `### Ack latency — ${options.concurrency} concurrent requests per round, ${options.rounds} measured rounds per kind and target (after ${options.warmup} warm-up), Slack latency ${options.slackLatencyMs} ms, SLACK_FOLLOW_UP_CONCURRENCY ${followUpConcurrency}`,
    '',
    table([...LATENCY_HEADERS, 'p99 / bare p99'], rows),
    '',
    `Target: bot p99 ≤ 1.5 × bare Bolt p99. Non-200 answers: bot ${failures.bot}, bare Bolt ${failures['bare Bolt']}. ` +
      `Latency = client send → full HTTP response, on the same machine (no network).`,
    '',
    `Slowest ack of each measured round (ms), bot | bare Bolt: ` +
      KINDS.map((kind) => `${kind} ${roundMaxima[kind].bot.map(ms).join(' ')} | ${roundMaxima[kind]['bare Bolt'].map(ms).join(' ')}`).join('; ') +
      '.',
    '',
    table(
      ['bot, per request (ack + follow-up work)', ...KINDS],
      [
        ['CPU ms', ...KINDS.map((kind) => cost.cpuMs[kind].toFixed(1))],
        [`CPU ms per round of ${options.concurrency}`, ...KINDS.map((kind) => Math.round(cost.cpuMs[kind] * options.concurrency).toLocaleString('en-US'))],
        ['SQL statements', ...KINDS.map((kind) => cost.sql[kind].toFixed(1))],
        ['Slack calls', ...KINDS.map((kind) => cost.slack[kind].toFixed(1))],
      ],
    ),
    '',
    table(
      ['bot follow-ups (after the ack, FollowUpGate)', ...KINDS],
      [
        ['count', ...KINDS.map((kind) => followUps[kind].waitMs.n.toLocaleString('en-US'))],
        ['waited for a slot, p50 / p99 / max ms', ...KINDS.map((kind) => spread(followUps[kind].waitMs))],
        ['ran, p50 / p99 / max ms', ...KINDS.map((kind) => spread(followUps[kind].runMs))],
        ['ran past the limit after the max wait', ...KINDS.map((kind) => followUps[kind].overflows.toLocaleString('en-US'))],
      ],
    ),
  ].join('\n');
}

const spread = (d: Distribution) => `${ms(d.p50)} / ${ms(d.p99)} / ${ms(d.max)}`;

if (require.main === module) {
  runAck(ackOptions(process.argv.slice(2)))
    .then((result) => console.log(result.report))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
