/** Durations as people type them (`45s`, `30m`, `2h`, `1d`, `1h30m`) and as we show them (`1h 30m`). */

const SECONDS_PER_UNIT = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
type Unit = keyof typeof SECONDS_PER_UNIT;
const UNITS_LARGEST_FIRST: readonly Unit[] = ['d', 'h', 'm', 's'];

/** Anything longer is a typo, not a break-glass window. */
export const MAX_DURATION_SECONDS = 365 * SECONDS_PER_UNIT.d;

// Units must appear largest first and at most once; whitespace between parts lets `formatDuration` output round-trip.
const DURATION_PATTERN = /^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$/i;

/** Whole seconds, or null when the text is not a positive duration of at most 365 days. */
export function parseDuration(text: string): number | null {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return null;
  const parts = match.slice(1, 5);
  if (parts.every((part) => part === undefined)) return null;
  const seconds = parts.reduce((total, part, index) => total + (part === undefined ? 0 : Number(part) * SECONDS_PER_UNIT[UNITS_LARGEST_FIRST[index]]), 0);
  if (seconds <= 0 || seconds > MAX_DURATION_SECONDS) return null;
  return seconds;
}

/** Compact text with the two largest non-zero units, e.g. `45s`, `30m`, `1h 30m`, `2d 3h`; the rest is truncated. */
export function formatDuration(seconds: number): string {
  let remaining = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const unit of UNITS_LARGEST_FIRST) {
    const count = Math.floor(remaining / SECONDS_PER_UNIT[unit]);
    remaining -= count * SECONDS_PER_UNIT[unit];
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.length === 0 ? '0s' : parts.slice(0, 2).join(' ');
}
