/** What every target system adapter does. Implementations must be idempotent: granting twice or revoking
 * something already gone succeeds. Expected failures throw ProviderError with a message fit for Slack. */
export interface GrantTarget {
  requestId: string;
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

export interface AccessProvider {
  readonly type: string;
  grant(target: GrantTarget): Promise<void>;
  revoke(target: GrantTarget): Promise<void>;
  /** True when the access is currently in place on the target. */
  verify(target: GrantTarget): Promise<boolean>;
  close(): Promise<void>;
}

/** An expected failure of the target system (unknown login, unreachable host, non-2xx). The message is shown
 * to people, so it must never contain secrets or connection strings. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

/** Provider settings from the policy file, after ${VAR} interpolation and validation. */
export type ProviderConfig =
  | { type: 'postgres'; url: string }
  | { type: 'webhook'; url: string; secret: string; timeoutMs: number };
