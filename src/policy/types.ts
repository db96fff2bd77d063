import type { ReportSchedule } from '../domain/report-schedule';
import type { Rotation } from '../domain/on-call';
import type { EmergencyRule } from '../domain/emergency-types';
import type { ProviderConfig } from '../providers/types';

/** One grantable role, with every value resolved (role → resource → `defaults` → built-in). */
export interface RoleRule {
  id: string;
  description: string | null;
  /** What the provider grants; defaults to the role id. */
  grant: string;
  /** Distinct approvals needed; the requester never counts. */
  approvals: number;
  maxDurationSeconds: number;
  requireTicket: boolean;
  /** Checked with RegExp#test, so an unanchored pattern matches anywhere in the ticket. */
  ticketPattern: RegExp | null;
  /** Slack user ids (U…/W…), user-group ids (S…) and on-call schedules (`schedule:<name>`, `pagerduty:<ID>`);
   * never "*". */
  approvers: string[];
  /** Slack user ids, user-group ids, or "*". */
  requesters: string[];
  /** How long before the expiry the requester gets a reminder DM (with Extend / I'm done). */
  remindBeforeSeconds: number;
  extension: ExtensionRule;
  /** Channel ids (C…/G…) requests for this role may be posted in; null: any channel, as well as a DM with the bot. */
  requestChannels: string[] | null;
  /** Emergency access (break glass) without approval, reviewed afterwards; absent or null: not allowed. */
  emergency?: EmergencyRule | null;
  /** Grants end when the incident in their request's channel closes (archived, or /breakglass incident close). */
  endWithIncident: boolean;
}

/** How active access may be extended: by the same approvers, here `approvals` of them (0: the requester alone). */
export interface ExtensionRule {
  approvals: number;
  /** Longest total access, from the grant to the extended expiry. */
  maxTotalSeconds: number;
}

export type { EmergencyRule };

export interface ResourceRule {
  id: string;
  description: string | null;
  provider: ProviderConfig;
  roles: RoleRule[];
}

export interface Policy {
  /** The file the policy came from, for messages and audit. */
  sourcePath: string;
  /** Slack user id → login on target systems. */
  identities: ReadonlyMap<string, string>;
  /** E-mail domains (lower case) whose addresses give a login (the local part) to people not in `identities`;
   * empty: no login is taken from an e-mail address. */
  loginEmailDomains: string[];
  /** Requests one person may make in an hour (any resource, any outcome). */
  requestsPerHour: number;
  resources: ResourceRule[];
  /** Slack user ids allowed to administer the bot. */
  admins: string[];
  /** How long a request waits for approvals before it expires. */
  requestTtlSeconds: number;
  revokeAlerts: RevokeAlertSettings;
  /** The `schedules` section: rotations that `schedule:<name>` approvers name; absent in hand-built policies. */
  schedules?: ReadonlyMap<string, Rotation>;
  /** The `audit` section; absent in hand-built policies (tests): nothing beyond the security channel. */
  audit?: AuditSettings;
  /** The `reports` section (the scheduled review digest); absent: no digest. */
  reports?: ReportSettings | null;
}

/** The scheduled review digest (`reports`). */
export interface ReportSettings {
  /** Where it is posted: reports.channel, else alerts.securityChannel. */
  channel: string;
  /** As written, for messages: `7d`, `mon 09:00`, `Europe/Berlin`. */
  every: string;
  at: string;
  timezone: string;
  schedule: ReportSchedule;
}

/** Where the audit chain's heads are published besides alerts.securityChannel. */
export interface AuditSettings {
  /** An absolute path: each published head is appended as a JSON line ({"seq":…,"hash":"…","at":"…"}). */
  publishHeadFile: string | null;
}

/** Who hears about grants that fail to revoke, and when. */
export interface RevokeAlertSettings {
  /** Failed attempts before people are alerted (the first few are often a blip). */
  afterFailures: number;
  /** Alerts go to the incident channel and, when set, to this channel (a Slack channel id). */
  securityChannel: string | null;
}
