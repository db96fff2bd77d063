import { z } from 'zod';
import { formatDuration, parseDuration } from '../domain/duration';

/** `emergency.after` as written: `0` (at once) or a duration. */
const ZERO = /^0+[smhd]?$/i;

const duration = (what: string) =>
  z.union([z.string(), z.number()], { error: `expected a duration (45s, 30m, 2h or 1d) ${what}` }).transform((value, ctx) => {
    const seconds = typeof value === 'string' ? parseDuration(value) : null;
    if (seconds === null) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a duration; use 45s, 30m, 2h or 1d ${what}` });
      return z.NEVER;
    }
    return seconds;
  });

const CHANNEL_ID = /^[CG][A-Z0-9]+$/;

/**
 * One level's `emergency:` block (defaults, a resource or a role); every key is optional here, since a level only
 * overrides what it names (role → resource → defaults). `resolveEmergency` then checks the merged block.
 * `reviewers` are principals like approvers and are checked by the loader's principal reader (one place knows what a
 * principal may be), so this schema only asks for a list of text.
 */
export const emergencyLevelSchema = z
  .strictObject(
    {
      allowed: z.boolean({ error: 'expected true or false (emergency access is off unless allowed: true)' }).optional(),
      maxDuration: duration('(the longest an emergency grant may last)').optional(),
      reviewers: z
        .array(z.string({ error: 'expected a principal: a Slack user id (U…/W…) or user-group id (S…)' }), { error: 'expected a list of reviewers (like approvers)' })
        .optional(),
      reviewWithin: duration('(how soon the reviewers must review an emergency grant)').optional(),
      notify: z
        .array(
          z.string().regex(CHANNEL_ID, { error: (issue) => `${JSON.stringify(issue.input)} is not a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")` }),
          { error: 'expected a list of channel ids (C…/G…) to alert besides alerts.securityChannel' },
        )
        .optional(),
      after: z
        .union([z.string(), z.number()], { error: 'expected a duration, or 0 for at once' })
        .transform((value, ctx) => {
          if (value === 0 || (typeof value === 'string' && ZERO.test(value.trim()))) return 0;
          const seconds = typeof value === 'string' ? parseDuration(value) : null;
          if (seconds === null) {
            ctx.addIssue({
              code: 'custom',
              message: `${JSON.stringify(value)} is not a duration; use 0 (at once), 45s, 10m or 1h (how long a request waits before its requester may break the glass)`,
            });
            return z.NEVER;
          }
          return seconds;
        })
        .optional(),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'expected a mapping: { allowed, maxDuration, reviewers, reviewWithin, notify, after }') },
  )
  .nullable();

export type EmergencyLevel = Exclude<z.output<typeof emergencyLevelSchema>, null>;

export const EMERGENCY_DEFAULTS = { reviewWithinSeconds: 24 * 3_600, afterSeconds: 600 } as const;

/** Problems as `path: message` lines, in the loader's style. */
export function parseEmergencyLevel(value: unknown, path: string): { level: EmergencyLevel | null; problems: string[] } {
  const parsed = emergencyLevelSchema.safeParse(value);
  if (parsed.success) return { level: parsed.data, problems: [] };
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${path}.${key}: unknown key (allowed keys: allowed, maxDuration, reviewers, reviewWithin, notify, after)`).join('\n');
    }
    const where = [path, ...issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))].join('').replace(/\.\[/g, '[');
    return `${where}: ${issue.message}`;
  });
  return { level: null, problems: problems.flatMap((line) => line.split('\n')) };
}

/** Merges levels, the later (more specific) overriding key by key; null (written `emergency: null`) clears the inherited block. */
export function mergeEmergency(base: EmergencyLevel | null, override: EmergencyLevel | null | undefined): EmergencyLevel | null {
  if (override === undefined) return base;
  if (override === null) return null;
  return { ...(base ?? {}), ...Object.fromEntries(Object.entries(override).filter(([, value]) => value !== undefined)) };
}

/** What a role's merged block must hold once allowed; problems are relative to the role's path. */
export function emergencyProblems(level: EmergencyLevel, role: { maxDurationSeconds: number }): string[] {
  if (level.allowed !== true) return [];
  const problems: string[] = [];
  if (!level.reviewers || level.reviewers.length === 0) {
    problems.push(
      'emergency.reviewers: missing; emergency access is allowed, so name who reviews its grants afterwards (user ids U…, user groups S…), on the role, its resource or in defaults',
    );
  }
  const max = level.maxDuration ?? role.maxDurationSeconds;
  if (max > role.maxDurationSeconds) {
    problems.push(
      `emergency.maxDuration: ${formatDuration(max)} is longer than the role's maxDuration (${formatDuration(role.maxDurationSeconds)}); an emergency grant must not outlast an approved one`,
    );
  }
  return problems;
}
