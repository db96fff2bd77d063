import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { exportAuditEvents } from '../audit/export';
import { parseExportQuery } from '../audit/export-query';
import { parseReportQuery, writeReport } from './audit-report';
import { parsePublishedHeads } from '../audit/sealer';
import { DEFAULT_SEAL_BOUND_MS, verifyAuditChain, type AuditVerifyResult, type KnownHead } from '../audit/verify';
import { parseDuration } from '../domain/duration';
import { createPrisma, type Db } from '../db/prisma';
import { scrubSecrets } from '../logger';

/** Exit codes, documented in the usage text and docs/audit.md. */
export const EXIT = { ok: 0, chainBroken: 1, usage: 2, failed: 3 } as const;

const USAGE = `Usage:
  npm run audit -- verify [--known-head <seq>:<hash> | <posted message> | <file>] …
      Checks the audit hash chain, recomputing every hash here (not in the database). Exit 0 when intact,
      1 when it is not (and says where). Events unsealed for longer than AUDIT_SEAL_BOUND (default 5s) fail it.
      --known-head (repeatable): a head kept outside the database: as an earlier run printed it (12:3f9c…),
      a head the bot posted ("Audit chain head: seq 12, sha256 3f9c…"), or a file holding such posts or the
      JSON lines of audit.publishHead. The event at each seq must still have that hash (catches a rewrite).
  npm run audit -- export --since <when> [--until <when>] [--request BG-1042] [--actor U123ABC]
                          [--format csv|json] [--output <file>]
      Exports audit events to stdout (or --output). <when> is a duration meaning "that long ago"
      (30d, 12h) or an ISO date (2026-11-01, 2026-11-01T08:00:00Z). json (the default) is JSON Lines.
      With npm, use \`npm run -s audit -- export …\` when redirecting stdout, so npm's banner stays out.
  npm run audit -- report [--since <when>] [--until <when>] [--format md|csv|json] [--output <file>]
                          [--workspace https://acme.slack.com]
      The access review report (as the Slack digest, in full): grants by resource and role, access time,
      emergency grants and their reviews, denied and timed-out requests, failed revocations, the longest
      grants, top requesters. Computed from the sealed audit events (those verify checks). --since defaults
      to 7d, --until to now, --format to md. --workspace turns thread references into Slack links.

Reads DATABASE_URL from the environment (or .env). Exit codes: 0 ok, 1 chain broken, 2 usage error,
3 failure (e.g. the database is unreachable).`;

class UsageError extends Error {}

interface Io {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** Runs one audit command and returns its exit code; never calls process.exit (tests call it too). */
export async function runAuditCli(argv: string[], io: Io): Promise<number> {
  const say = (stream: Writable, text: string) => stream.write(`${text}\n`);
  let command: string | undefined;
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        request: { type: 'string' },
        actor: { type: 'string' },
        format: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'known-head': { type: 'string', multiple: true },
        workspace: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    if (values.help) {
      say(io.stdout, USAGE);
      return EXIT.ok;
    }
    if (parsed.positionals.length !== 1)
      throw new UsageError(parsed.positionals.length === 0 ? 'say what to do: verify, export or report' : `one command at a time, got: ${parsed.positionals.join(' ')}`);
    command = parsed.positionals[0];
    if (command !== 'verify' && command !== 'export' && command !== 'report') throw new UsageError(`unknown command "${command}": use verify, export or report`);
    if (command !== 'verify' && values['known-head'] !== undefined) throw new UsageError('--known-head belongs to verify');
    if (command !== 'report' && values.workspace !== undefined) throw new UsageError('--workspace belongs to report');
    if (command === 'report') {
      const exportOnly = ['request', 'actor'].filter((name) => values[name] !== undefined);
      if (exportOnly.length > 0) throw new UsageError(`--${exportOnly[0]} belongs to export, not report`);
    }
    if (command === 'verify') {
      const exportOnly = ['since', 'until', 'request', 'actor', 'format', 'output'].filter((name) => values[name] !== undefined);
      if (exportOnly.length > 0) throw new UsageError(`--${exportOnly[0]} belongs to export, not verify`);
    }
  } catch (err) {
    const badArguments = err instanceof UsageError || (err instanceof TypeError && String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS'));
    if (!badArguments) throw err;
    say(io.stderr, `audit: ${err.message}\n\n${USAGE}`);
    return EXIT.usage;
  }

  const query =
    command === 'export'
      ? parseExportQuery({ since: str(values.since), until: str(values.until), request: str(values.request), actor: str(values.actor), format: str(values.format) })
      : null;
  const reportQuery =
    command === 'report' ? parseReportQuery({ since: str(values.since), until: str(values.until), format: str(values.format), workspace: str(values.workspace) }) : null;
  if (reportQuery && !reportQuery.ok) {
    say(io.stderr, `audit: ${reportQuery.message}\nExample: npm run audit -- report --since 30d --format md --output report.md`);
    return EXIT.usage;
  }
  if (query && !query.ok) {
    say(io.stderr, `audit: ${query.message}\nExample: npm run audit -- export --since 30d --format csv --output audit.csv`);
    return EXIT.usage;
  }
  const knownHeads: KnownHead[] = [];
  for (const given of Array.isArray(values['known-head']) ? values['known-head'] : []) {
    const heads = readKnownHeads(given);
    if (heads === null) {
      say(
        io.stderr,
        `audit: --known-head "${given}" is not <seq>:<64 hex digits> (as verify prints it: Head: 1044:3f9c…), a posted "Audit chain head: seq …, sha256 …", nor a file holding heads\nExample: npm run audit -- verify --known-head 1044:${'3f9c'.padEnd(64, '0')}`,
      );
      return EXIT.usage;
    }
    knownHeads.push(...heads);
  }
  const sealBound = io.env.AUDIT_SEAL_BOUND ? parseDuration(io.env.AUDIT_SEAL_BOUND) : DEFAULT_SEAL_BOUND_MS / 1000;
  if (sealBound === null || sealBound < 1) {
    say(io.stderr, `audit: AUDIT_SEAL_BOUND "${io.env.AUDIT_SEAL_BOUND}" must be a duration of at least 1s, such as 5s`);
    return EXIT.usage;
  }
  const databaseUrl = io.env.DATABASE_URL;
  if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    say(io.stderr, `audit: DATABASE_URL ${databaseUrl ? 'must be a URL starting with postgresql://' : 'is not set (see .env.example)'}`);
    return EXIT.usage;
  }

  const db = createPrisma(databaseUrl, 1);
  try {
    if (command === 'verify') {
      const result = await verifyAuditChain(db, { knownHeads, sealBoundMs: sealBound * 1000 });
      say(result.ok ? io.stdout : io.stderr, describeVerifyResult(result));
      return result.ok ? EXIT.ok : EXIT.chainBroken;
    }
    const output = str(values.output);
    if (reportQuery?.ok) {
      const out = output ? fs.createWriteStream(output, { fd: fs.openSync(output, 'w') }) : io.stdout;
      const written = await writeReport(db, reportQuery.query, out);
      if (output) await new Promise<void>((resolve) => out.end(resolve));
      const unsealed = written.unsealed > 0 ? ` (${written.unsealed} not sealed yet left out)` : '';
      if (output) say(io.stderr, `audit: wrote the report of ${written.events} sealed event${written.events === 1 ? '' : 's'}${unsealed} to ${output}`);
      return EXIT.ok;
    }
    if (!query?.ok) throw new Error('unreachable: export without a valid query');
    // Opened before the first query, so a wrong path fails at once and not halfway through.
    const out = output ? fs.createWriteStream(output, { fd: fs.openSync(output, 'w') }) : io.stdout;
    const count = await writeExport(db, query, out, Boolean(output));
    if (output) say(io.stderr, `audit: wrote ${count} event${count === 1 ? '' : 's'} to ${output}`);
    return EXIT.ok;
  } catch (err) {
    say(io.stderr, `audit: ${command} failed: ${scrubSecrets(lastLine(err instanceof Error ? err.message : String(err)))}`);
    return EXIT.failed;
  } finally {
    await db.$disconnect();
  }
}

/** The heads in a --known-head value: the value itself (seq:hash or a posted message), or else the file it names.
 * Null when neither holds a head. */
function readKnownHeads(given: string): KnownHead[] | null {
  const inline = parsePublishedHeads(given);
  if (inline.length > 0) return inline;
  if (/^\s*\d+:/.test(given) || !fs.existsSync(given) || !fs.statSync(given).isFile()) return null;
  const fromFile = parsePublishedHeads(fs.readFileSync(given, 'utf8'));
  return fromFile.length > 0 ? fromFile : null;
}

/** Streams the export with back-pressure; a write error (full disk, closed pipe) fails the command. */
async function writeExport(db: Db, query: Extract<ReturnType<typeof parseExportQuery>, { ok: true }>, out: Writable, closeWhenDone: boolean): Promise<number> {
  let count = 0;
  const chunks = exportAuditEvents(db, query.filters, query.format, { onBatch: (rows) => (count += rows) });
  await pipeline(Readable.from(chunks), out, { end: closeWhenDone });
  return count;
}

export function describeVerifyResult(result: AuditVerifyResult): string {
  const head = result.head ? `head ${result.head.seq}:${result.head.hash}` : 'no head';
  const pending = result.pending > 0 ? `; ${result.pending} newer event${result.pending === 1 ? '' : 's'} not sealed yet, left for the next run` : '';
  const events = `${result.eventsChecked} event${result.eventsChecked === 1 ? '' : 's'} checked${pending}`;
  if (result.ok) {
    if (!result.head) return `Audit chain intact: ${events} (no events yet).`;
    return `Audit chain intact: ${events}.\nHead: ${result.head.seq}:${result.head.hash}\n(keep it outside the database; later runs check it with --known-head ${result.head.seq}:${result.head.hash})`;
  }
  const lines = [`Audit chain BROKEN: ${result.problemCount} problem${result.problemCount === 1 ? '' : 's'} in ${events} (${head}).`];
  for (const problem of result.problems) lines.push(`  - [${problem.kind}] ${problem.message}`);
  const unlisted = result.problemCount - result.problems.length;
  if (unlisted > 0) lines.push(`  … and ${unlisted} more not listed.`);
  return lines.join('\n');
}

/** Prisma's messages start with the invocation; the cause is the last line. */
function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .pop() ?? text
  );
}

function str(value: string | string[] | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

if (require.main === module) {
  if (fs.existsSync('.env')) process.loadEnvFile('.env');
  runAuditCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`audit: unexpected error: ${scrubSecrets(String(err?.stack ?? err))}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
