/**
 * Where the bot's memory goes at idle, stage by stage (not a benchmark: load does not distort it). Loads what the
 * bot loads, in steps, and prints after each: RSS, its anonymous and file-backed parts (/proc/self/smaps_rollup),
 * V8's heap, `external` and array buffers, and the thread count.
 *
 *   node -r ./bench/register.cjs --expose-gc bench/experiments/memory-probe.ts [postgresql://…]
 *
 * The database is only asked `SELECT 1` (Prisma's query compiler is instantiated by the first query).
 */
import fs from 'node:fs';

const MiB = 1024 * 1024;
const rows: string[][] = [];

function rollup(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
    const match = /^(\w+):\s+(\d+) kB/.exec(line);
    if (match) out[match[1]] = Number(match[2]) / 1024;
  }
  return out;
}

function threads(): number {
  return Number(/Threads:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

/** The biggest resident mappings, by file (anonymous ones together). */
export function mappings(top = 8): string {
  const sizes = new Map<string, number>();
  let current = '';
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) current = header[1] || '[anon]';
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) sizes.set(current, (sizes.get(current) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...sizes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, size]) => `${size.toFixed(1)} MiB ${name.replace(/^.*node_modules\//, '…/')}`)
    .join('\n  ');
}

function sample(stage: string): void {
  global.gc?.();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const r = rollup();
  rows.push([
    stage,
    (rss / MiB).toFixed(1),
    (r.Anonymous ?? 0).toFixed(1),
    ((r.Rss ?? 0) - (r.Anonymous ?? 0)).toFixed(1),
    (heapTotal / MiB).toFixed(1),
    (heapUsed / MiB).toFixed(1),
    (external / MiB).toFixed(1),
    (arrayBuffers / MiB).toFixed(1),
    String(threads()),
  ]);
}

async function main(): Promise<void> {
  const databaseUrl = process.argv[2] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  sample('node + require hook');
  require('pino');
  require('express');
  require('@slack/bolt');
  sample('+ pino, express, @slack/bolt');
  require('ioredis');
  require('bullmq');
  sample('+ ioredis, bullmq');
  const { createPrisma } = require('../../src/db/prisma');
  sample('+ generated Prisma client (require)');
  const db = createPrisma(databaseUrl, 20);
  await db.$queryRaw`SELECT 1`;
  sample('+ PrismaClient, first query');
  require('../../src/app');
  sample('+ the rest of src/ (require src/app)');
  console.log(['stage', 'RSS', 'anon', 'file', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'threads'].join(' | '));
  for (const row of rows) console.log(row.join(' | '));
  console.log(`largest resident mappings:\n  ${mappings()}`);
  await db.$disconnect();
}

void main();
