import type { Credentials } from '../domain/credentials';

/** What every target system adapter does. Implementations must be idempotent: granting twice or revoking
 * something already gone succeeds. Expected failures throw ProviderError with a message fit for Slack. */
export interface GrantTarget {
  requestId: string;
  /** The request's short number (BG-<n>), e.g. for naming per-request objects on the target. */
  requestNumber: number;
  /** Slack user id of the requester. */
  slackId: string;
  /** The requester's login on the target system. */
  login: string;
  resourceId: string;
  roleId: string;
  /** What to grant on the target (for postgres, the database role's name). */
  grant: string;
  expiresAt: Date;
  reason: string;
  ticket: string | null;
}

// Credentials (src/domain/credentials.ts) live in src/domain because the Block Kit builders show them.
export type { Credentials };

export interface GrantResult {
  credentials?: Credentials;
}

export interface AccessProvider {
  readonly type: string;
  /** `login`: two grants of the same `grant` to the same login are the same access on the target (role
   * membership), so one must not be revoked while another is active. `request`: every request gets its own
   * object on the target (a temporary login), so grants never overlap. */
  readonly sharing: 'login' | 'request';
  grant(target: GrantTarget): Promise<GrantResult>;
  revoke(target: GrantTarget): Promise<void>;
  /** True when the access is currently in place on the target. */
  verify(target: GrantTarget): Promise<boolean>;
  /** The grant's expiry moved to `target.expiresAt`: update whatever expiry the target keeps itself (a
   * login's VALID UNTIL, a receiver's own TTL). Access stays in place. */
  extend(target: GrantTarget): Promise<void>;
  close(): Promise<void>;
}

/** An expected failure of the target system (unknown login, unreachable host, non-2xx). The message is shown
 * to people, so it must never contain secrets or connection strings. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

/** Provider settings from the policy file, after ${VAR} interpolation and validation. */
export type ProviderConfig = PostgresProviderConfig | WebhookProviderConfig | CommandProviderConfig;

export interface WebhookProviderConfig {
  type: 'webhook';
  url: string;
  secret: string;
  timeoutMs: number;
  /** Sign the old way (body only, unsigned timestamp) for receivers not upgraded yet; removed next release. */
  legacySignature: boolean;
}

/** Runs an executable per action (execFile, no shell). Each argv entry may contain {placeholders}. */
export interface CommandProviderConfig {
  type: 'command';
  grant: string[];
  revoke: string[];
  /** Exit 0 = in place, exit 1 = not in place, anything else = error. Optional. */
  verify: string[] | null;
  /** Optional; without it an extension changes nothing on the target. */
  extend: string[] | null;
  timeoutMs: number;
  /** Extra environment for the executable (after ${VAR} interpolation; values are treated as secrets). */
  env: Record<string, string>;
}

/** Role attributes that make a login more than the role it is granted: a superuser has every privilege anyway, a
 * CREATEROLE login can grant itself roles (and keep them after our revoke), a BYPASSRLS login ignores the row
 * policies the role relies on. The postgres provider refuses a target that has one the policy does not allow. */
export const POSTGRES_LOGIN_ATTRIBUTES = ['superuser', 'createrole', 'bypassrls'] as const;
export type PostgresLoginAttribute = (typeof POSTGRES_LOGIN_ATTRIBUTES)[number];

export interface PostgresProviderConfig {
  type: 'postgres';
  url: string;
  mode: 'membership' | 'temporary-login';
  /** Attributes the login (and the granted role, which the login can SET ROLE to) may have; empty by default. */
  allowLoginAttributes: PostgresLoginAttribute[];
}
