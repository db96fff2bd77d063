/** The policy the end-to-end tests run under: the issue's example, pointed at real local targets. */
export function e2ePolicy(targets: {
  login: string;
  readRole: string;
  writeRole: string;
  postgresUrl: string;
  webhookUrl: string;
  webhookSecret: string;
  missingRole?: string;
  /** Extra top-level policy text, e.g. an `alerts:` block. */
  extra?: string;
  requestTtl?: string;
  /** More entries for the resources list (YAML list items, indented by two spaces). */
  extraResources?: string;
  /** More `identities` entries: Slack user id -> login on the targets. */
  identities?: Record<string, string>;
  /** `loginEmailDomains`; by default the fake Slack's example.com, so people outside `identities` have logins. */
  loginEmailDomains?: readonly string[];
  /** `defaults.requestsPerHour`; by default high enough for any test file's requests by one person. */
  requestsPerHour?: number;
  /** More `defaults` settings, YAML flow-mapping entries, e.g. `requestChannels: [C0INCIDENT]`. */
  defaults?: string;
}): string {
  const identities = { [REQUESTER]: targets.login, [REQUESTER2]: targets.login, ...targets.identities };
  const moreDefaults = targets.defaults ? `, ${targets.defaults}` : '';
  return `
defaults: { maxDuration: 4h, approvals: 1, requireTicket: true, ticketPattern: "^[A-Z]+-[0-9]+$", requestTtl: ${targets.requestTtl ?? '1h'}, requestsPerHour: ${targets.requestsPerHour ?? 1000}${moreDefaults} }
admins: [U0ADMIN]
loginEmailDomains: [${(targets.loginEmailDomains ?? ['example.com']).join(', ')}]
${targets.extra ?? ''}
identities:
${Object.entries(identities)
  .map(([userId, login]) => `  ${userId}: ${login}`)
  .join('\n')}
resources:
  - id: payments-db
    description: Payments PostgreSQL (test)
    provider: { type: postgres, url: "${targets.postgresUrl}" }
    requesters: ["*"]
    approvers: [U0APPROVER1, U0APPROVER2, S0SRELEADS]
    roles:
      - { id: read,  grant: ${targets.readRole},  approvals: 1, maxDuration: 8h }
      - { id: write, grant: ${targets.writeRole}, approvals: 2, maxDuration: 1h }
      - { id: broken, grant: ${targets.missingRole ?? 'bg_role_that_does_not_exist'}, approvals: 1, maxDuration: 1h }
  - id: deploy-console
    provider: { type: webhook, url: "${targets.webhookUrl}", secret: "${targets.webhookSecret}", timeout: 2s }
    requesters: [U0REQUESTER]
    approvers: [U0APPROVER1]
    roles: [ { id: operator, approvals: 1, maxDuration: 2h, requireTicket: false } ]
${targets.extraResources ?? ''}`;
}

export const CHANNEL = 'C0INCIDENT';
export const REQUESTER = 'U0REQUESTER';
/** A second Slack account mapped to the same login as REQUESTER (someone's admin account, say): another requester,
 * the same access on the targets. Its requests are the ones that can overlap with REQUESTER's on a target. */
export const REQUESTER2 = 'U0REQUESTER2';
export const APPROVER1 = 'U0APPROVER1';
export const APPROVER2 = 'U0APPROVER2';
export const GROUP_LEAD = 'U0LEAD';
export const OUTSIDER = 'U0OUTSIDER';

/** A valid policy whose targets are never contacted: for processes that stop, or are only looked at, before any grant. */
export function offlinePolicy(name: string): string {
  return e2ePolicy({
    login: `${name}_login`,
    readRole: `${name}_read`,
    writeRole: `${name}_write`,
    postgresUrl: 'postgresql://nobody@127.0.0.1:1/none',
    webhookUrl: 'http://127.0.0.1:9/hook',
    webhookSecret: `${name}-webhook-secret`,
  });
}
