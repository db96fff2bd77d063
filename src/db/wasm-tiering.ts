import v8 from 'node:v8';

let applied = false;

/**
 * Compiles WebAssembly with V8's baseline compiler (Liftoff) only. Prisma's query compiler is a WebAssembly module
 * (@prisma/client/runtime/query_compiler_fast_bg.*); with V8's default tiering its hot functions are compiled again
 * by the optimizing compiler, and that code stays resident: about 50 MiB of the idle bot's RSS
 * (docs/benchmarks.md, "Memory"). Measured per query, Liftoff-only code costs no CPU time that stands out of the
 * noise (bench/experiments/query-compiler-cpu.ts). Must run before the first query compiles the module; process-wide.
 */
export function baselineWasmOnly(): void {
  if (applied) return;
  applied = true;
  v8.setFlagsFromString('--liftoff-only');
}
