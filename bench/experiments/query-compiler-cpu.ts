/**
 * CPU cost of Prisma's query compiler (WebAssembly) per query, for comparing V8's wasm tiering (e.g. Liftoff only,
 * which keeps ~50 MiB of optimized code out of the idle process): CPU time (user + system) of this process for
 * `--rounds` rounds of the query shapes the hot path uses, on an empty schema-migrated database. CPU time, not
 * wall time, so other load on the machine distorts it little.
 *
 *   node -r ./bench/register.cjs [--liftoff-only] bench/experiments/query-compiler-cpu.ts postgresql://…/db [rounds]
 */
import { randomUUID } from 'node:crypto';

async function main(): Promise<void> {
  const [databaseUrl, roundsArg] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 2000);
  const { createPrisma } = require('../../src/db/prisma');
  const db = createPrisma(databaseUrl, 5);
  const shapes = async () => {
    const id = randomUUID();
    await db.accessRequest.findUnique({ where: { id }, include: { approvals: true, grant: true } });
    await db.accessRequest.findMany({ where: { id: { in: [id, randomUUID()] } }, select: { id: true, channelId: true, requesterId: true } });
    await db.$queryRaw`SELECT id FROM "AccessRequest" WHERE id = ${id}::uuid`;
    await db.accessRequest.updateMany({ where: { id, messageTs: null }, data: { messageTs: '1.2' } });
  };
  for (let i = 0; i < 200; i++) await shapes(); // warm-up (tier-up happens here)
  const before = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await shapes();
  const cpu = process.cpuUsage(before);
  const wall = performance.now() - start;
  console.log(
    JSON.stringify({
      flags: process.execArgv.filter((arg) => arg.startsWith('--')).join(' ') || 'default',
      rounds,
      cpuMsPerRound: Number(((cpu.user + cpu.system) / 1000 / rounds).toFixed(3)),
      wallMsPerRound: Number((wall / rounds).toFixed(3)),
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    }),
  );
  await db.$disconnect();
}

void main();
