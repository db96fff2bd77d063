/**
 * When the review digest is due: at a wall-clock time (`at`, optionally on a weekday) in an IANA time zone, every
 * `every` days, counted in that zone's calendar days so a weekly digest stays at 09:00 across daylight-saving
 * changes. Plain code; the clock is always passed in.
 */

export interface ReportSchedule {
  /** Whole days between digests (7 for weekly). */
  everyDays: number;
  /** 0 = Sunday … 6 = Saturday, or null: any day (counted from 1970-01-01 when everyDays > 1). */
  weekday: number | null;
  hour: number;
  minute: number;
  /** IANA zone, e.g. Europe/Berlin. */
  timeZone: string;
}

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** `mon 09:00`, `monday 9:00` or `09:00` → weekday, hour, minute; null when it is none of these. */
export function parseReportTime(text: string): { weekday: number | null; hour: number; minute: number } | null {
  const match = /^(?:(sun|mon|tue|wed|thu|fri|sat)(?:day|sday|nesday|rsday|urday)?\s+)?(\d{1,2}):(\d{2})$/i.exec(text.trim());
  if (!match) return null;
  const [, day, hourText, minuteText] = match;
  const weekday = day === undefined ? null : WEEKDAYS.indexOf(day.toLowerCase() as (typeof WEEKDAYS)[number]);
  if (weekday === -1) return null;
  const hour = Number(hourText);
  const minute = Number(minuteText);
  if (hour > 23 || minute > 59) return null;
  return { weekday, hour, minute };
}

/** Whether the runtime knows the zone (IANA names such as Europe/Berlin, or UTC). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const DAY_MS = 86_400_000;
/** 1970-01-04 was a Sunday: day numbers count from 1970-01-01 (a Thursday, weekday 4). */
const EPOCH_WEEKDAY = 4;

/** The digest's most recent due time at or before `now`, and the one before it. */
export function latestSlot(schedule: ReportSchedule, now: Date): { start: Date; end: Date } {
  const today = localDayNumber(now, schedule.timeZone);
  const anchor = schedule.weekday === null ? 0 : (schedule.weekday - EPOCH_WEEKDAY + 7) % 7;
  let day = today - mod(today - anchor, schedule.everyDays);
  if (slotInstant(schedule, day).getTime() > now.getTime()) day -= schedule.everyDays;
  return { start: slotInstant(schedule, day - schedule.everyDays), end: slotInstant(schedule, day) };
}

/** The first due time after `now` (for the alarm clock). */
export function nextSlot(schedule: ReportSchedule, now: Date): Date {
  const { end } = latestSlot(schedule, now);
  return slotInstant(schedule, localDayNumber(end, schedule.timeZone) + schedule.everyDays);
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** The day number (days since 1970-01-01) of the calendar date `at` has in the zone. */
function localDayNumber(at: Date, timeZone: string): number {
  const parts = zonedParts(at, timeZone);
  return Math.floor(Date.UTC(parts.year, parts.month - 1, parts.day) / DAY_MS);
}

/** The instant the zone's clocks show hour:minute on that day. A time skipped by a daylight-saving change is taken
 * an hour later; a repeated one, the first time. */
function slotInstant(schedule: ReportSchedule, day: number): Date {
  const wall = day * DAY_MS + (schedule.hour * 60 + schedule.minute) * 60_000;
  let guess = wall - offsetMs(new Date(wall), schedule.timeZone);
  const second = wall - offsetMs(new Date(guess), schedule.timeZone);
  if (second !== guess) guess = Math.min(guess, second);
  return new Date(guess);
}

/** How far the zone's clock is ahead of UTC at that instant. */
function offsetMs(at: Date, timeZone: string): number {
  const p = zonedParts(at, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at.getTime() / 1000) * 1000;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function zonedParts(at: Date, timeZone: string) {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(at)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second };
}
