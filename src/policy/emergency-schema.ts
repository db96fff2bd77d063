import { z } from 'zod';
import type { EmergencyRule } from '../domain/emergency-types';
import { formatDuration, parseDuration } from '../domain/duration';
import { principals, UNKNOWN_KEYS_MARK } from './schema-primitives';
import type { CoreRoleRule, SectionReport } from './section-types';

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
const EMERGENCY_KEYS = ['allowed', 'maxDuration', 'reviewers', 'reviewWithin', 'notify', 'after'];

/**
 * One level's `emergency:` block (defaults, a resource or a role); every key is optional here, since a level only
 * overrides what it names (role → resource → defaults). `resolveEmergency` then checks the merged block.
 * `reviewers` are principals like approvers (the same `principals()` check, on-call schedules included).
 */
export const emergencyLevelSchema = z
  .strictObject(
    {
      allowed: z.boolean({ error: 'expected true or false (emergency access is off unless allowed: true)' }).optional(),
      maxDuration: duration('(the longest an emergency grant may last)').optional(),
      reviewers: principals({ everyone: false, groups: true, onCall: true, allowEmpty: true }).optional(),
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
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? UNKNOWN_KEYS_MARK + JSON.stringify(EMERGENCY_KEYS)
          : 'expected a mapping: { allowed, maxDuration, reviewers, reviewWithin, notify, after }',
    },
  )
  .nullable()
  .meta({ description: 'Emergency access without approval, reviewed afterwards: { allowed, maxDuration, reviewers, reviewWithin, notify, after }' });

export type EmergencyLevel = Exclude<z.output<typeof emergencyLevelSchema>, null>;

export const EMERGENCY_DEFAULTS = { reviewWithinSeconds: 24 * 3_600, afterSeconds: 600 } as const;

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

/** The inherited section (sections.ts): the levels [role, resource, defaults] merged key by key (`null` clears what
 * is inherited), checked once allowed; undefined (no `emergency` on the role) unless `allowed: true`. */
export const emergencySection = {
  schema: emergencyLevelSchema.optional(),
  resolve(levels: readonly (EmergencyLevel | null | undefined)[], { role, report }: { role: CoreRoleRule; report: SectionReport }): EmergencyRule | undefined {
    const merged = [...levels].reverse().reduce<EmergencyLevel | null>((base, level) => mergeEmergency(base, level), null);
    if (!merged?.allowed) return undefined;
    for (const problem of emergencyProblems(merged, role)) {
      const split = problem.indexOf(': ');
      report(problem.slice(0, split), problem.slice(split + 2));
    }
    return {
      maxDurationSeconds: merged.maxDuration ?? role.maxDurationSeconds,
      reviewers: [...(merged.reviewers ?? [])],
      reviewWithinSeconds: merged.reviewWithin ?? EMERGENCY_DEFAULTS.reviewWithinSeconds,
      notify: [...(merged.notify ?? [])],
      afterSeconds: merged.after ?? EMERGENCY_DEFAULTS.afterSeconds,
    };
  },
};
