import v8 from 'node:v8';

/** How much V8 lets the old generation grow past what the last full collection kept, in percent. */
export const HEAP_GROWING_PERCENT = 30;

const FLAG = '--heap-growing-percent';

/**
 * Keeps the bot's heap close to what it really holds. By default V8 lets the old generation grow up to 4× what the
 * last full collection kept before it collects again, when collecting looks cheap; in a burst of expiries (thousands of
 * rows read, records and effects built, most of them garbage a moment later) that let the heap reach ~250 MiB around
 * ~60 MiB of live objects, and the process ~400 MiB of RSS. A fixed 30 % brings the burst's peak under 300 MiB at no
 * measurable cost to revocation (docs/benchmarks.md, "Memory"). A `--heap-growing-percent` given to `node` on the
 * command line wins. Process-wide; call it once, first thing, from the process's entry point.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`))) return false;
  v8.setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return true;
}
