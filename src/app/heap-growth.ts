import v8 from 'node:v8';

/** The default of HEAP_GROWING_PERCENT (src/config/env.ts). */
export const HEAP_GROWING_PERCENT = 30;

const FLAG = '--heap-growing-percent';

/**
 * Keeps the bot's heap close to what it really holds. By default V8 lets the old generation grow up to 4× what the
 * last full collection kept before it collects again, when collecting looks cheap; in a burst of expiries (thousands of
 * rows read, records and effects built, most of them garbage a moment later) that let the process reach ~430 MiB of
 * RSS around ~60 MiB of live objects. 30 % brings the burst's peak under 300 MiB, for a revocation p99 about a quarter
 * slower (docs/benchmarks.md, "Current results"). `percent` 0 leaves V8's own heuristics; a `--heap-growing-percent`
 * given to `node` on the command line wins over both. Process-wide: call it once, early, from the entry point.
 * Returns whether it set the flag.
 */
export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT, execArgv: readonly string[] = process.execArgv): boolean {
  if (percent <= 0) return false;
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`))) return false;
  v8.setFlagsFromString(`${FLAG}=${Math.round(percent)}`);
  return true;
}
