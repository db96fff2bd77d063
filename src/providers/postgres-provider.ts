import { DatabaseError, escapeIdentifier, Pool, type PoolClient } from 'pg';
import { type AccessProvider, type GrantResult, type GrantTarget, ProviderError } from './types';

export interface PostgresProviderOptions {
  /** Admin connection string to the target cluster (needs CREATEROLE/ADMIN on the granted roles and
   * pg_signal_backend or superuser to end sessions). Never shown in messages. */
  url: string;
}

/** PostgreSQL truncates longer identifiers silently, which could make a long name hit a different role. */
const MAX_IDENTIFIER_BYTES = 63;
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 10_000;
/** Client-side backstop for when the server cannot even enforce its statement_timeout (dead socket). */
const QUERY_TIMEOUT_MS = 15_000;
const UNDEFINED_OBJECT = '42704';

/** Error codes that mean the target was not reached at all, as opposed to the target refusing something. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Grants a database role to a login on the target cluster by direct role membership. */
export class PostgresProvider implements AccessProvider {
  readonly type = 'postgres';
  readonly sharing = 'login';
  private readonly pool: Pool;
  private readonly password: string | null;

  constructor(options: PostgresProviderOptions) {
    this.password = passwordOf(options.url);
    this.pool = new Pool({
      connectionString: options.url,
      max: 2,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: 'breakglass',
    });
    // An idle client whose server went away emits 'error' on the pool; unhandled, that would crash the
    // process. The pool already discards the client and the next operation reports the problem.
    this.pool.on('error', () => undefined);
  }

  async grant(target: GrantTarget): Promise<GrantResult> {
    assertIdentifier('login', target.login);
    assertIdentifier('role', target.grant);
    await this.withClient('grant', async (client) => {
      const existing = await existingRoles(client, target.login, target.grant);
      if (!existing.login) throw new ProviderError(`login "${target.login}" does not exist on the target`);
      if (!existing.grant) throw new ProviderError(`role "${target.grant}" does not exist on the target`);
      // Granting an existing membership is a no-op (a NOTICE), so this is idempotent.
      await client.query(`GRANT ${escapeIdentifier(target.grant)} TO ${escapeIdentifier(target.login)}`);
    });
    return {};
  }

  /** Role membership has no expiry of its own on the target. */
  async extend(): Promise<void> {}

  async revoke(target: GrantTarget): Promise<void> {
    assertIdentifier('login', target.login);
    assertIdentifier('role', target.grant);
    await this.withClient('revoke', async (client) => {
      const existing = await existingRoles(client, target.login, target.grant);
      if (!existing.login) return; // no login, no membership and no sessions: nothing to take away
      if (existing.grant) {
        // Revoking a membership that is not there is a no-op (a WARNING), so this is idempotent.
        await client
          .query(`REVOKE ${escapeIdentifier(target.grant)} FROM ${escapeIdentifier(target.login)}`)
          .catch((error: unknown) => {
            // The role was dropped since we looked: its memberships went with it.
            if (!(error instanceof DatabaseError && error.code === UNDEFINED_OBJECT)) throw error;
          });
        // On PostgreSQL 16+ REVOKE only removes memberships granted by us; say so rather than report success.
        if (await hasDirectMembership(client, target.login, target.grant)) {
          throw new ProviderError(
            `role "${target.grant}" is still granted to "${target.login}" (granted by another role); revoke it by hand`,
          );
        }
      }
      // Open sessions keep what they already have (e.g. after SET ROLE), so access only really ends when they
      // do. Done on every revoke, even when the membership was already gone: a retry after a failed
      // termination must still end the sessions.
      await terminateSessions(client, target.login);
    });
  }

  /** True when the login is a direct member of the role: that is exactly what grant creates and revoke removes.
   * pg_has_role(login, role, 'MEMBER') would be wrong here: it is also true for superusers and for indirect
   * membership through other roles, so it could report a grant as in place after we revoked it. */
  async verify(target: GrantTarget): Promise<boolean> {
    assertIdentifier('login', target.login);
    assertIdentifier('role', target.grant);
    return this.withClient('verify', (client) => hasDirectMembership(client, target.login, target.grant));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async withClient<T>(action: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new ProviderError(`cannot reach the target database: ${this.describe(error)}`);
    }
    let broken = false;
    try {
      return await work(client);
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      broken = !(error instanceof DatabaseError); // a socket or timeout problem: do not reuse this client
      const reason = this.describe(error);
      throw new ProviderError(
        broken ? `cannot reach the target database: ${reason}` : `target database refused to ${action}: ${reason}`,
      );
    } finally {
      client.release(broken);
    }
  }

  /** A short, secret-free reason. The original error is not attached as `cause`: loggers would print it whole. */
  private describe(error: unknown): string {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    // Duck-typed: socket errors may come from another realm (e.g. under jest), where instanceof Error fails.
    const rawMessage =
      typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
    const message = typeof rawMessage === 'string' ? rawMessage : String(error);
    const line = message.split('\n')[0].slice(0, 200);
    const scrubbed = scrubSecrets(line, this.password);
    return typeof code === 'string' && error instanceof DatabaseError ? `${scrubbed} (${code})` : scrubbed;
  }
}

function assertIdentifier(kind: 'login' | 'role', name: string): void {
  if (name.length === 0) throw new ProviderError(`${kind} name is empty`);
  if (name.includes('\0')) throw new ProviderError(`${kind} name contains a NUL character`);
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new ProviderError(`${kind} name "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
}

async function existingRoles(
  client: PoolClient,
  login: string,
  grant: string,
): Promise<{ login: boolean; grant: boolean }> {
  const result = await client.query<{ login: boolean; grant: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS login,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) AS grant`,
    [login, grant],
  );
  return result.rows[0];
}

async function hasDirectMembership(client: PoolClient, login: string, grant: string): Promise<boolean> {
  const result = await client.query<{ member: boolean }>(
    `SELECT EXISTS (
       SELECT 1
         FROM pg_auth_members m
         JOIN pg_roles granted ON granted.oid = m.roleid
         JOIN pg_roles member ON member.oid = m.member
        WHERE granted.rolname = $1 AND member.rolname = $2
     ) AS member`,
    [grant, login],
  );
  return result.rows[0].member;
}

async function terminateSessions(client: PoolClient, login: string): Promise<void> {
  await client.query(
    `SELECT pg_terminate_backend(pid)
       FROM pg_stat_activity
      WHERE usename = $1 AND pid <> pg_backend_pid()`,
    [login],
  );
}

function passwordOf(url: string): string | null {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length > 0 ? password : null;
  } catch {
    return null; // not a URL (e.g. a key=value string); the pattern scrub below still applies
  }
}

/** Removes credentials from error text: any `scheme://user:password@` and the literal password itself. */
function scrubSecrets(text: string, password: string | null): string {
  let scrubbed = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
  scrubbed = scrubbed.replace(/password\s*=\s*\S+/gi, 'password=***');
  if (password !== null) scrubbed = scrubbed.split(password).join('***');
  return scrubbed;
}
