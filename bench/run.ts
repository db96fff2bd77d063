/**
 * Breakglass benchmarks (run by hand, not in CI; see docs/benchmarks.md for results and findings).
 *
 *   npm run bench                        all three, in this order: revocation, ack, memory (~6–7 minutes)
 *   npm run bench -- revocation [...]    revocation lag: --grants 10000 --channels 50 --max-wait 180 --cpu-prof
 *                                        --provider-latency 0 --slack-latency 0 --bots 1 --concurrency 20
 *                                        (see bench/revocation.ts)
 *   npm run bench -- ack [...]           ack latency:    --concurrency 100 --rounds 10 --warmup 2 --cpu-prof
 *   npm run bench -- memory [...]        memory:         --grants 10000
 *   npm run bench -- profile <file>      summarize a .cpuprofile written by --cpu-prof (bench/results/)
 *   --sharing request                    (any benchmark) the no-op provider shares nothing, like temporary logins;
 *                                        default 'login', like postgres membership and webhook targets
 *   EXPIRY_CONCURRENCY=<n>               (any benchmark) the bot's expiry worker concurrency, as in production (the
 *                                        pool is sized from it); revocation's --concurrency overrides it
 *   SLACK_FOLLOW_UP_CONCURRENCY=<n>      (ack) the bot's follow-up gate limit, as in production; ack reports how long
 *                                        follow-ups waited for a slot and how many ran past the limit
 *   BENCH_BOT_PATCH=<module>[,…]         load bench/experiments/* into the bot process to measure a proposed change
 *   BENCH_KEEP_DB=1 / BENCH_BOT_LOG=warn keep the database afterwards / show the bot's logs on stderr
 *
 * Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and Redis at 127.0.0.1:6379, as the tests do; override
 * with BENCH_PG_ADMIN_URL / BENCH_REDIS_URL. Each benchmark creates and drops its own database (breakglass_bench,
 * migrated with scripts/migrate.mjs) and uses Redis index 13 with unique queue names it obliterates afterwards, so
 * it never touches the test databases. The bot, a bare Bolt app, a plain BullMQ worker and the fake Slack each run
 * in their own process (bench/processes/*); this process seeds, sends the load and measures.
 * Raw results go to bench/results/*.json; `all` also writes bench/results/report-*.md, ready for the docs.
 * Set BENCH_BOT_LOG=warn to see the bot's own logs on stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ackOptions, runAck } from './ack-latency';
import { summarize } from './analyze-profile';
import { machineInfo, parseOptions, RESULTS_DIR, saveResults } from './lib/setup';
import { memoryOptions, runMemory } from './memory';
import { revocationOptions, runRevocation } from './revocation';

async function main(argv: string[]): Promise<void> {
  const [name = 'all', ...rest] = argv;
  switch (name) {
    case 'revocation': {
      const result = await runRevocation(revocationOptions(rest));
      console.log(result.report);
      console.error(`raw results: ${saveResults('revocation', result)}`);
      return;
    }
    case 'ack': {
      const result = await runAck(ackOptions(rest));
      console.log(result.report);
      console.error(`raw results: ${saveResults('ack', result)}`);
      return;
    }
    case 'memory': {
      const result = await runMemory(memoryOptions(rest));
      console.log(result.report);
      console.error(`raw results: ${saveResults('memory', result)}`);
      return;
    }
    case 'profile': {
      const file = rest.find((arg) => !arg.startsWith('--'));
      if (!file) throw new Error('usage: npm run bench -- profile <file.cpuprofile>');
      console.log(summarize(file, Number(parseOptions(rest).get('top') ?? 25)));
      return;
    }
    case 'all': {
      const started = new Date();
      const machine = machineInfo();
      // Options given to `all` (e.g. --sharing request) go to every benchmark.
      const revocation = await runRevocation(revocationOptions(rest));
      console.log(`${revocation.report}\n`);
      const ack = await runAck(ackOptions(rest));
      console.log(`${ack.report}\n`);
      const memory = await runMemory(memoryOptions(rest));
      console.log(`${memory.report}\n`);
      const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
      const header = [
        `## Run of ${started.toISOString()} (${minutes} min)`,
        '',
        `Command: \`npm run bench${rest.length ? ` -- all ${rest.join(' ')}` : ''}\``,
        '',
        ...Object.entries(machine).map(([key, value]) => `- ${key}: ${value}`),
        '',
      ].join('\n');
      const markdown = [header, revocation.report, ack.report, memory.report].join('\n\n');
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      const file = path.join(RESULTS_DIR, `report-${started.toISOString().replace(/[:.]/g, '-')}.md`);
      fs.writeFileSync(file, `${markdown}\n`);
      saveResults('all', { machine, revocation, ack, memory });
      console.error(`report: ${file}`);
      return;
    }
    default:
      throw new Error(`unknown benchmark "${name}": use revocation, ack, memory, profile or all`);
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
