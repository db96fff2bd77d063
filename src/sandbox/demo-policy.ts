import { ADMIN_ID, APPROVER_IDS, SANDBOX_CHANNELS, SANDBOX_PEOPLE } from './people';

export interface DemoPolicyTargets {
  /** The admin connection the postgres provider grants with. */
  postgresUrl: string;
  readRole: string;
  writeRole: string;
  /** Slack user id -> login on both targets. */
  logins: Record<string, string>;
  webhookUrl: string;
  webhookSecret: string;
}

/** The sandbox's policy: two targets, short durations so the expiry, the reminder and the audit summary come within
 * a minute or two, and the people of the page in their parts. Written as YAML and read by the bot's own loader. */
export function demoPolicy(targets: DemoPolicyTargets): string {
  const [incidents, security] = SANDBOX_CHANNELS;
  const identities = SANDBOX_PEOPLE.map((person) => `  ${person.id}: ${JSON.stringify(targets.logins[person.id])}`).join('\n');
  return `# The sandbox's demo policy (src/sandbox/demo-policy.ts); see docs/sandbox.md.
defaults:
  approvals: 1
  maxDuration: 5m
  requestTtl: 10m
  remindBefore: 20s
  requestChannels: [${incidents.id}]
  extension: { approvals: 1, maxTotal: 10m }
admins: [${ADMIN_ID}]
alerts: { afterFailedRevokes: 3, securityChannel: ${security.id} }
identities:
${identities}
resources:
  - id: demo-db
    description: Demo PostgreSQL (a real role on the sandbox's database)
    provider: { type: postgres, url: ${JSON.stringify(targets.postgresUrl)} }
    approvers: [${APPROVER_IDS.join(', ')}]
    roles:
      - { id: read, grant: ${targets.readRole}, description: Read-only, approvals: 1 }
      - { id: write, grant: ${targets.writeRole}, description: Read-write, approvals: 2, requireTicket: true, ticketPattern: "^[A-Z]+-[0-9]+$" }
  - id: deploy-console
    description: Demo deploy console (a webhook served by the sandbox)
    provider: { type: webhook, url: ${JSON.stringify(targets.webhookUrl)}, secret: ${JSON.stringify(targets.webhookSecret)}, timeout: 5s }
    approvers: [${APPROVER_IDS.join(', ')}]
    roles:
      - { id: operator, approvals: 1, maxDuration: 3m }
`;
}
