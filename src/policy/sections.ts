import type { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------
// Where policy sections written in their own files (`src/policy/<section>-schema.ts`) plug in; see
// docs/policy-schema.md. One line each:
//
//   TOP_LEVEL_SECTIONS: `emergency: emergencySchema.optional(),`
//     → the key `emergency` is allowed at the top of the file, checked by the schema (messages, typo hints and
//       ${VAR} come with the primitives in schema-primitives.ts), and its parsed value lands on `Policy.emergency`
//       (add the field to `Policy` in types.ts).
//   INHERITED_SECTIONS: `review: reviewSchema.optional(),`
//     → the key may be set on a role, its resource or `defaults`; each role gets the first value set, looked up
//       role → resource → defaults, on `RoleRule.review` (add the field to `RoleRule`; undefined when no level
//       sets it, so apply the built-in default where the value is used, not with zod's `.default()`, which would
//       make every level set it).
//
// Both go into the JSON Schema (docs/breakglass.schema.json) with the next `npm run policy:schema`.

export const TOP_LEVEL_SECTIONS = {} satisfies Record<string, z.ZodType>;

export const INHERITED_SECTIONS = {} satisfies Record<string, z.ZodType>;
