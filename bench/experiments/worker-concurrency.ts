/**
 * Superseded: src/ now reads EXPIRY_CONCURRENCY and sizes the pool from it (+10); use
 * `npm run bench -- revocation --concurrency N` (or EXPIRY_CONCURRENCY=N). Kept because docs/benchmarks.md's first
 * run ("Further runs", concurrency 100, pool still 30) was measured with it.
 *
 * Experiment (not a benchmark): the expiry worker with another concurrency than ExpiryWorker's built-in 20, to
 * measure what making it configurable would give. Loaded into the bot process with BENCH_BOT_PATCH:
 *
 *   BENCH_CONCURRENCY=100 BENCH_BOT_PATCH=bench/experiments/worker-concurrency.ts npm run bench -- revocation …
 *
 * BullMQ lets a worker's concurrency change at run time; this sets it when the worker is first awaited.
 */
import { Worker } from 'bullmq';

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 20);
const waitUntilReady = Worker.prototype.waitUntilReady;
Worker.prototype.waitUntilReady = function (this: Worker) {
  this.concurrency = concurrency;
  return waitUntilReady.call(this);
};
