import { z } from 'zod';
import { describeValue } from './schema-primitives';

/**
 * `endWithIncident` (role → resource → defaults; built-in true): whether a grant belongs to the incident of the
 * channel it was requested in. When that incident closes (the channel is archived, or `/breakglass incident close`
 * runs there), such grants end at once as revoked early, pending requests close, and extensions are refused.
 * false: the role's grants run to their own expiry whatever happens to the channel.
 */
export const endWithIncidentSchema = z.boolean({
  error: (issue) => `${describeValue(issue.input)} is not true or false (true: grants of this role end when the incident channel they were requested in is archived or closed)`,
});

export const DEFAULT_END_WITH_INCIDENT = true;

/** The inherited section (sections.ts): the first level that sets it, else true. */
export const endWithIncidentSection = {
  schema: endWithIncidentSchema.optional().meta({
    description: 'Whether grants end when their incident channel is archived or closed (/breakglass incident close). Built-in: true',
  }),
  resolve: (levels: readonly (boolean | undefined)[]) => levels.find((level) => level !== undefined) ?? DEFAULT_END_WITH_INCIDENT,
};
