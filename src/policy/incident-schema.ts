import { z } from 'zod';
import { type Checker, describeValue, report } from './check-primitives';

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

/** Reads `endWithIncident` at `path`; undefined (reported) when invalid. */
export function readEndWithIncident(checker: Checker, value: unknown, path: string): boolean | undefined {
  const parsed = endWithIncidentSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  return report(checker, path, parsed.error.issues[0]?.message ?? 'must be true or false');
}
