import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { isOnCallPrincipal, pagerDutyScheduleId, type Rotation, rotationName } from '../domain/on-call';
import { likelyMeant } from './policy-issues';
import { describeValue, SLACK_USER_PATTERN, UNKNOWN_KEYS_MARK } from './schema-primitives';
import type { SectionReport, WrittenCore, WrittenLevel } from './section-types';

/** The policy's `schedules` (rotations for teams without PagerDuty) and the on-call principals that name them or a
 * PagerDuty schedule: a top-level section (sections.ts) whose `resolve` also checks every on-call approver. */

const SCHEDULE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** PagerDuty object ids: upper-case letters and digits, starting with P (e.g. PABC123). */
export const PAGERDUTY_ID_PATTERN = /^P[A-Z0-9]{5,13}$/;
/** An ISO 8601 time with a date, a time and an offset (Z or ±hh:mm): a fixed instant wherever the bot runs. */
const ISO_INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;
const ROTATION_KEYS = ['rotation', 'every', 'start'];

const rotationSchema = z.strictObject(
  {
    rotation: z
      .array(z.string({ error: 'expected a Slack user id (U…/W…)' }).regex(SLACK_USER_PATTERN, 'is not a Slack user id (U…/W…)'), {
        error: (issue) => (issue.input === undefined ? 'missing; list the Slack user ids (U…) in the order they take turns' : 'expected a list of Slack user ids (U…)'),
      })
      .min(1, 'must list at least one Slack user id')
      .meta({ description: 'Slack user ids, in the order they take turns' }),
    every: z
      .string({ error: (issue) => (issue.input === undefined ? 'missing; how long each turn lasts, e.g. 7d' : 'is not a duration (e.g. 12h, 1d, 7d)') })
      .transform((text, context) => {
        const seconds = parseDuration(text);
        if (seconds === null) {
          context.addIssue({ code: 'custom', message: `${describeValue(text)} is not a duration (e.g. 12h, 1d, 7d; at most 365d)` });
          return z.NEVER;
        }
        return seconds;
      })
      .meta({ description: 'How long each turn lasts (e.g. 7d)' }),
    start: z
      .string({
        error: (issue) => (issue.input === undefined ? 'missing; when the first person\'s turn begins, e.g. "2026-01-05T09:00:00+01:00"' : 'expected an ISO time'),
      })
      .transform((text, context) => {
        const instant = new Date(text);
        if (!ISO_INSTANT_PATTERN.test(text) || Number.isNaN(instant.getTime()) || !isCalendarDate(text)) {
          context.addIssue({
            code: 'custom',
            message: `${describeValue(text)} is not an ISO time with an offset, e.g. "2026-01-05T09:00:00+01:00" or "2026-01-05T08:00:00Z" (quote it)`,
          });
          return z.NEVER;
        }
        return instant;
      })
      .meta({ description: "When the first person's turn begins: an ISO time with an offset" }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? UNKNOWN_KEYS_MARK + JSON.stringify(ROTATION_KEYS)
        : `expected a mapping with rotation, every and start, got ${describeValue(issue.input)}`,
  },
);

/** Date.parse rolls 2026-02-30 over into March; a typo like that must not start a rotation two days late. */
function isCalendarDate(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

export const schedulesSchema = z
  .record(
    z.string().regex(SCHEDULE_NAME_PATTERN, { error: 'is not a valid schedule name (lowercase letters, digits, "-" and "_", starting with a letter or digit)' }),
    rotationSchema,
    { error: (issue) => `expected a mapping of schedule name to { rotation, every, start }, got ${describeValue(issue.input)}` },
  )
  .meta({ description: 'Rotations that approvers name as schedule:<name>: who is on call, turn by turn' });

/** The section as the bot uses it (an empty map when absent), after checking every on-call approver and emergency
 * reviewer in the file. */
export function resolveSchedules(
  value: z.output<typeof schedulesSchema> | undefined,
  { policy, report, env }: { policy: WrittenCore; report: SectionReport; env: NodeJS.ProcessEnv },
): Map<string, Rotation> {
  const schedules = new Map(Object.entries(value ?? {}).map(([name, { rotation, every, start }]) => [name, { rotation, everySeconds: every, start }]));
  const names = [...schedules.keys()];
  const check = (principals: readonly string[] | undefined, at: string) => {
    principals?.forEach((principal, index) => {
      const problem = isOnCallPrincipal(principal) ? onCallPrincipalProblem(principal, names, env) : null;
      if (problem) report(`${at}[${index}]`, problem);
    });
  };
  const checkLevel = (level: WrittenLevel | undefined, at: string) => {
    check(level?.approvers, `${at}approvers`);
    check(level?.emergency?.reviewers, `${at}emergency.reviewers`);
  };
  checkLevel(policy.defaults, 'defaults.');
  policy.resources.forEach((resource, r) => {
    checkLevel(resource, `resources[${r}].`);
    resource.roles.forEach((role, index) => {
      checkLevel(role, `resources[${r}].roles[${index}].`);
    });
  });
  return schedules;
}

/** What is wrong with an on-call principal, or null: `schedule:<name>` must name one of `schedules` (with a hint
 * for a typo); `pagerduty:<ID>` must look like a PagerDuty id and needs PAGERDUTY_TOKEN. */
export function onCallPrincipalProblem(principal: string, scheduleNames: readonly string[], env: NodeJS.ProcessEnv): string | null {
  const name = rotationName(principal);
  if (name !== null) {
    if (scheduleNames.includes(name)) return null;
    if (scheduleNames.length === 0) return `${describeValue(principal)} names a schedule, but the policy has no "schedules" section`;
    const meant = likelyMeant(name, scheduleNames);
    const hint = meant ? `did you mean "schedule:${meant}"?` : `schedules: ${scheduleNames.join(', ')}`;
    return `${describeValue(principal)} names no schedule in "schedules" (${hint})`;
  }
  const scheduleId = pagerDutyScheduleId(principal) ?? '';
  if (!PAGERDUTY_ID_PATTERN.test(scheduleId)) {
    return `${describeValue(principal)} is not a PagerDuty schedule id (pagerduty:P…, e.g. pagerduty:PABC123: the id at the end of the schedule's URL)`;
  }
  if (!env.PAGERDUTY_TOKEN) return `${describeValue(principal)} needs PAGERDUTY_TOKEN (a read-only PagerDuty REST API key) to look up who is on call`;
  return null;
}
