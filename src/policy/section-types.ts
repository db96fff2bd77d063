import type { z } from 'zod';
import type { RoleRule } from './types';

// The shapes a policy section (sections.ts) is written to. Kept apart from sections.ts and policy-schema.ts, which
// import the sections, so that a section file imports neither.

/** What a top-level section's `resolve` may read of the rest of the file, as written (a structural part of
 * policy-schema.ts's CorePolicy). */
export interface WrittenCore {
  alerts?: { securityChannel?: string | null };
  defaults?: WrittenLevel;
  resources: readonly (WrittenLevel & { roles: readonly WrittenLevel[] })[];
}

/** What a level (defaults, a resource, a role) names people with. */
export interface WrittenLevel {
  approvers?: readonly string[];
  emergency?: { reviewers?: readonly string[] } | null;
}

/** The RoleRule fields the inherited sections below fill in (one name each). */
export type InheritedSectionKey = 'endWithIncident' | 'emergency';
/** A role as resolved before the inherited sections fill in their fields. */
export type CoreRoleRule = Omit<RoleRule, InheritedSectionKey>;

export type SectionReport = (path: string, message: string) => void;

export interface TopLevelSection<S extends z.ZodType = z.ZodType> {
  /** Give it `.optional()` unless the section is required. */
  schema: S;
  resolve?(value: z.output<S>, context: { policy: WrittenCore; report: SectionReport; env: NodeJS.ProcessEnv }): unknown;
}

export interface InheritedSection<S extends z.ZodType = z.ZodType> {
  /** Give it `.optional()`: a level that does not set it inherits. */
  schema: S;
  resolve?(levels: readonly (z.output<S> | undefined)[], context: { role: CoreRoleRule; report: SectionReport }): unknown;
}

/** The first level that sets a value (role, then resource, then defaults). */
export function first<T>(levels: readonly (T | undefined)[]): T | undefined {
  return levels.find((level) => level !== undefined);
}
