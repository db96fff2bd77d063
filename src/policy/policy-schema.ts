import path from 'node:path';
import { z } from 'zod';
import { providerSchema } from './provider-schema';
import {
  channelId,
  channelList,
  checkList,
  describeValue,
  duration,
  id,
  list,
  mapping,
  principals,
  reportRepeats,
  SLACK_USER_PATTERN,
  text,
  ticketPattern,
  wholeNumber,
  yesNo,
} from './schema-primitives';
import { INHERITED_SECTIONS, sectionSchemas, TOP_LEVEL_SECTIONS } from './sections';

// ---------------------------------------------------------------------------------------------------------------
// The policy file as written: every key, its type and its checks. The JSON Schema for editors
// (docs/breakglass.schema.json) is generated from this; resolve-policy.ts turns what it reads into the `Policy`
// the bot uses (inheritance role → resource → defaults → built-in, and the checks that need it).

/** Settings a role inherits: set on the role, its resource or `defaults`. Key order is checking order. */
const settingsShape = {
  approvals: wholeNumber(1).optional().meta({ description: 'Distinct approvals needed; the requester never counts. Built-in: 1' }),
  maxDuration: duration().optional().meta({ description: 'Longest access a request may ask for (45s, 30m, 2h, 1d; at most 365d). Built-in: 1h' }),
  requireTicket: yesNo().optional().meta({ description: 'Whether requests must carry a ticket id. Built-in: false' }),
  ticketPattern: ticketPattern().optional().meta({ description: 'Regular expression a ticket must match (unanchored unless ^…$); null turns an inherited one off' }),
  approvers: principals({ everyone: false, groups: true, onCall: true }).optional().meta({
    description:
      'Slack user ids (U…/W…), user-group ids (S…) and on-call schedules (schedule:<name>, pagerduty:<ID>) who may approve; required on the role, its resource or defaults',
  }),
  requesters: principals({ everyone: true, groups: true }).optional().meta({ description: 'Slack user ids, user-group ids, or "*" for everyone. Built-in: ["*"]' }),
  remindBefore: duration().optional().meta({ description: 'How long before the expiry the requester is reminded. Built-in: 10m' }),
  extension: mapping({
    approvals: wholeNumber(0).optional().meta({ description: "Approvals an extension needs (0: none). Default: the role's approvals" }),
    maxTotal: duration().optional().meta({ description: "Longest total access including extensions. Default: the role's maxDuration" }),
  })
    .optional()
    .meta({ description: 'How active access may be extended; each key is inherited on its own' }),
  requestChannels: channelList().nullable().optional().meta({ description: 'Channel ids (C…/G…) where requests are taken; null: anywhere. Built-in: anywhere' }),
  ...sectionSchemas(INHERITED_SECTIONS),
};
const SETTING_KEYS = Object.keys(settingsShape);

const description = () => text().nullable().optional();

const roleSchema = mapping({
  id: id().meta({ description: 'Role id, unique within its resource (lowercase letters, digits, "-", "_")' }),
  description: description(),
  grant: text().optional().meta({ description: 'What the provider grants (a database role, a name the receiver knows); default: the role id' }),
  ...settingsShape,
});

const resourceSchema = mapping(
  {
    id: id().meta({ description: 'Resource id, unique in the policy (lowercase letters, digits, "-", "_")' }),
    description: description(),
    provider: providerSchema,
    ...settingsShape,
    roles: list(roleSchema, { missing: 'missing; list at least one role' }).min(1, { error: 'must list at least one role' }),
  },
  { hintOrder: ['id', 'description', 'provider', 'roles', ...SETTING_KEYS] },
);

const defaultsSchema = mapping({
  ...settingsShape,
  requestTtl: duration().optional().meta({ description: 'How long a request waits for approvals before it expires. Built-in: 1h' }),
  requestsPerHour: wholeNumber(1).optional().meta({ description: 'Requests one person may make in an hour. Built-in: 10' }),
});

/** A domain name, lower case: labels of letters, digits and inner hyphens, at least two of them. */
const EMAIL_DOMAIN_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** The domain as read: trimmed, lower case; undefined when it is not one. */
export function emailDomain(written: unknown): string | undefined {
  const domain = typeof written === 'string' ? written.trim().toLowerCase() : '';
  return EMAIL_DOMAIN_PATTERN.test(domain) ? domain : undefined;
}

/** Kept as written here (so a repeat is shown as written); resolve-policy.ts reads them with emailDomain. */
const emailDomains = checkList(
  list(
    text({
      check: (written, report) => {
        if (emailDomain(written) !== undefined) return written;
        const hint = written.includes('@') ? ' (write the domain alone, e.g. example.com, without "@")' : ' (e.g. example.com)';
        report(`${describeValue(written)} is not an e-mail domain${hint}`);
      },
    }),
  ),
  (entries, problemAt) => reportRepeats(entries, problemAt, emailDomain, describeValue),
);

const identities = z.record(z.string().regex(SLACK_USER_PATTERN, { error: 'is not a Slack user id (U…/W…)' }), text(), {
  error: (issue) => `expected a mapping of Slack user id to login, got ${describeValue(issue.input)}`,
});

const alertsSchema = mapping(
  {
    afterFailedRevokes: wholeNumber(1).optional().meta({ description: 'Failed revocation attempts before people are alerted. Built-in: 3' }),
    securityChannel: channelId().nullable().optional().meta({ description: 'Also alert in this channel (an id, C…/G…), besides the incident channel' }),
  },
  { hintOrder: ['securityChannel', 'afterFailedRevokes'] },
);

const auditSchema = mapping({
  publishHead: text({
    check: (file, report) => {
      if (path.isAbsolute(file)) return file;
      report(`${describeValue(file)} is not an absolute path (the file the published audit chain heads are appended to)`);
    },
  })
    .nullable()
    .optional()
    .meta({ description: 'An absolute path: each published audit chain head is appended as a JSON line' }),
});

/** The top level without the sections of sections.ts (which may read these keys, see CorePolicy). */
const coreShape = {
  defaults: defaultsSchema.optional().meta({ description: 'Settings for every role that sets nothing itself or on its resource' }),
  identities: identities.optional().meta({ description: 'Slack user id → login on the targets' }),
  loginEmailDomains: emailDomains.optional().meta({ description: 'E-mail domains whose addresses give a login (the local part) to people not in identities' }),
  admins: principals({ everyone: false, groups: false, allowEmpty: true }).optional().meta({ description: 'Slack user ids allowed to administer the bot' }),
  alerts: alertsSchema.optional().meta({ description: 'Who hears about grants that fail to revoke, and when' }),
  audit: auditSchema.nullable().optional(),
  resources: list(resourceSchema, { missing: 'missing; list at least one resource' })
    .min(1, { error: 'must list at least one resource' })
    .meta({ description: 'The systems access is granted to, each with its provider and roles' }),
};
const { resources, ...beforeResources } = coreShape;

export const policySchema = mapping({ ...beforeResources, ...sectionSchemas(TOP_LEVEL_SECTIONS), resources }).meta({
  title: 'Breakglass policy',
  description: 'breakglass.yaml: who may request which production access, for how long, and who approves it',
});

/** What a top-level section's `resolve` sees of the rest of the file (sections.ts). */
export type CorePolicy = z.output<z.ZodObject<typeof coreShape>>;
export type WrittenPolicy = z.output<typeof policySchema>;
export type WrittenResource = WrittenPolicy['resources'][number];
export type WrittenRole = WrittenResource['roles'][number];
/** The inheritable settings as written on one level (a role, a resource or defaults). */
export type WrittenSettings = Pick<WrittenRole, keyof typeof settingsShape>;

/** The JSON Schema of the policy file, for editors (`# yaml-language-server: $schema=…`) and other tools. */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, { io: 'input', target: 'draft-07' }) as Record<string, unknown>;
}
