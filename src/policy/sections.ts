import type { z } from 'zod';
import { emergencySection } from './emergency-schema';
import { endWithIncidentSection } from './incident-schema';
import { reportsSchema, resolveReports } from './reports-schema';
import { resolveSchedules, schedulesSchema } from './schedules-schema';
import type { InheritedSection, InheritedSectionKey, TopLevelSection } from './section-types';

// ---------------------------------------------------------------------------------------------------------------
// Where policy sections written in their own files (`src/policy/<section>-schema.ts`) plug in: one entry each, and
// the field it fills in types.ts. See docs/policy-schema.md, "Adding a section".
//
//   TOP_LEVEL_SECTIONS  `reports: { schema: reportsSchema.optional(), resolve: resolveReports },`
//     → `reports:` is allowed at the top of the file and checked by the schema with everything else (messages,
//       typo hints and ${VAR} come with the primitives in schema-primitives.ts); Policy.reports is what `resolve`
//       makes of the parsed value (undefined when absent), or the parsed value itself without a `resolve`.
//   INHERITED_SECTIONS  `endWithIncident: { schema: z.boolean().optional(), resolve: (levels) => first(levels) ?? false },`
//     → the key may be set on a role, its resource or `defaults`; RoleRule.endWithIncident is what `resolve` makes
//       of the three levels' values [role, resource, defaults] (undefined where a level does not set it), or the
//       first one set without a `resolve`. `resolve` also gets the role as resolved so far, to check against it.
//
// A `resolve` runs once the whole file is well-formed; it reports problems with `report(path, message)`, the path
// relative to the file (top level) or to the role (inherited), e.g. `report('emergency.reviewers', '…')`.

// The types are in section-types.ts.

export const TOP_LEVEL_SECTIONS = {
  reports: { schema: reportsSchema.nullable().optional(), resolve: resolveReports },
  schedules: { schema: schedulesSchema.optional(), resolve: resolveSchedules },
} satisfies Record<string, TopLevelSection>;

export const INHERITED_SECTIONS = {
  endWithIncident: endWithIncidentSection,
  emergency: emergencySection,
} satisfies Record<InheritedSectionKey, InheritedSection>;

/** The schemas of a set of sections, as a zod shape. */
export function sectionSchemas<T extends Record<string, { schema: z.ZodType }>>(sections: T): { [K in keyof T]: T[K]['schema'] } {
  return Object.fromEntries(Object.entries(sections).map(([key, section]) => [key, section.schema])) as { [K in keyof T]: T[K]['schema'] };
}
