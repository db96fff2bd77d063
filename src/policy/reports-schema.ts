/** The `reports` policy section: the scheduled review digest. Validated with zod, every problem with a pointed
 * message naming its key. */
import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { isTimeZone, parseReportTime, WEEKDAYS } from '../domain/report-schedule';
import { describeValue, UNKNOWN_KEYS_MARK } from './schema-primitives';
import type { SectionReport, WrittenCore } from './section-types';
import type { ReportSettings } from './types';

const DAY_SECONDS = 86_400;
const CHANNEL_ID = /^[CG][A-Z0-9]+$/;

export const reportsSchema = z
  .strictObject(
    {
      channel: z
        .string({ error: 'must be a Slack channel id (C… or G…)' })
        .regex(CHANNEL_ID, 'must be a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")')
        .optional(),
      every: z
        .string({ error: 'must be a whole number of days, such as 7d' })
        .refine((text) => {
          const seconds = parseDuration(text);
          return seconds !== null && seconds % DAY_SECONDS === 0;
        }, 'must be a whole number of days, such as 1d, 7d or 14d')
        .default('7d'),
      at: z
        .string({ error: 'must be a time such as "mon 09:00" or "09:00"' })
        .refine((text) => parseReportTime(text) !== null, 'must be a time such as "mon 09:00" (a weekday and 24-hour time) or "09:00" (every day)')
        .default('mon 09:00'),
      timezone: z
        .string({ error: 'must be an IANA time zone name such as Europe/Berlin or UTC' })
        .refine(isTimeZone, 'is not a time zone this runtime knows: use an IANA name such as Europe/Berlin, America/New_York or UTC')
        .default('UTC'),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? UNKNOWN_KEYS_MARK + JSON.stringify(['channel', 'every', 'at', 'timezone'])
          : `expected a mapping of channel, every, at and timezone, got ${describeValue(issue.input)}`,
    },
  )
  .superRefine((value, ctx) => {
    const time = parseReportTime(value.at);
    const days = (parseDuration(value.every) ?? 0) / DAY_SECONDS;
    if (time?.weekday !== null && time !== null && days % 7 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['at'],
        message: `names a weekday (${WEEKDAYS[time.weekday]}), so every must be a whole number of weeks (7d, 14d…), not ${value.every}`,
      });
    }
  });

/** The digest's settings (a top-level section, sections.ts); null when there is no `reports` section.
 * alerts.securityChannel is the default channel. */
export function resolveReports(
  value: z.output<typeof reportsSchema> | null | undefined,
  { policy, report }: { policy: WrittenCore; report: SectionReport },
): ReportSettings | null {
  if (value === undefined || value === null) return null;
  const channel = value.channel ?? policy.alerts?.securityChannel ?? null;
  if (!channel) {
    report('reports.channel', 'is needed when alerts.securityChannel is not set (the digest goes there by default)');
    return null;
  }
  const time = parseReportTime(value.at)!;
  return {
    channel,
    every: value.every,
    at: value.at,
    timezone: value.timezone,
    schedule: { everyDays: (parseDuration(value.every) ?? 0) / DAY_SECONDS, ...time, timeZone: value.timezone },
  };
}
