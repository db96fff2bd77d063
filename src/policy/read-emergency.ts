import { type Checker, childPath, readPrincipals, report } from './check-primitives';
import { EMERGENCY_DEFAULTS, emergencyProblems, type EmergencyLevel, parseEmergencyLevel } from './emergency-schema';
import type { EmergencyRule } from './types';

// The policy loader's side of `emergency:` (the block's own checks are the zod schema in emergency-schema.ts).

/** One level's `emergency` block (zod, emergency-schema.ts); its reviewers are checked like approvers. Undefined when
 * invalid (reported), so the inherited block stays. */
export function readEmergency(checker: Checker, value: unknown, path: string): EmergencyLevel | null | undefined {
  const { level, problems } = parseEmergencyLevel(value, path);
  for (const problem of problems) report(checker, '', problem);
  if (problems.length > 0) return undefined;
  if (level?.reviewers && !readPrincipals(checker, level.reviewers, childPath(path, 'reviewers'), { allowEveryone: false, allowGroups: true, allowEmpty: true })) return undefined;
  return level;
}

/** The role's emergency access, or null when it is not allowed; problems of the merged block are reported. */
export function resolveEmergency(checker: Checker, rolePath: string, level: EmergencyLevel | null, roleMaxDurationSeconds: number): EmergencyRule | null {
  if (!level?.allowed) return null;
  for (const problem of emergencyProblems(level, { maxDurationSeconds: roleMaxDurationSeconds })) report(checker, '', `${rolePath}.${problem}`);
  return {
    maxDurationSeconds: level.maxDuration ?? roleMaxDurationSeconds,
    reviewers: [...(level.reviewers ?? [])],
    reviewWithinSeconds: level.reviewWithin ?? EMERGENCY_DEFAULTS.reviewWithinSeconds,
    notify: [...(level.notify ?? [])],
    afterSeconds: level.after ?? EMERGENCY_DEFAULTS.afterSeconds,
  };
}
