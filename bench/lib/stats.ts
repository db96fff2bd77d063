/** Percentiles and the small tables the benchmarks print (markdown, so they paste into docs/benchmarks.md). */

export interface Distribution {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (p in 0..100) of already sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  // Values may include Infinity for things that never happened within the run; the mean is then Infinity too.
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** Milliseconds for a table cell: `12.3` below 100 ms, whole numbers above; ∞ for what never happened. */
export function ms(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '∞';
  if (!Number.isFinite(value)) return '–';
  return value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
}

export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

export function ratio(value: number, floor: number): string {
  return floor > 0 && Number.isFinite(value) ? `${(value / floor).toFixed(2)}×` : '–';
}

/** A markdown table; numbers are right-aligned. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((row) => row.map(String));
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => row[column]?.length ?? 0)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [line(headers), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** One row of a latency table: name, count, p50, p90, p99, max (ms). */
export function latencyRow(name: string, d: Distribution, ...extra: string[]): string[] {
  return [name, d.n.toLocaleString('en-US'), ms(d.p50), ms(d.p90), ms(d.p99), ms(d.max), ...extra];
}

export const LATENCY_HEADERS = ['measure', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'];
