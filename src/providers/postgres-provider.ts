import { randomBytes } from 'node:crypto';
import { DatabaseError, escapeIdentifier, escapeLiteral, Pool, type PoolClient } from 'pg';
import {
  assertGrantable,
  assertIdentifier,
  DEPENDENT_OBJECTS_STILL_EXIST,
  dropRole,
  existingRoles,
  findTemporaryLogin,
  hasDirectMembership,
  ownerMark,
  refuseAttributes,
  roleAttributes,
  scramVerifier,
  temporaryLoginName,
  terminateSessions,
} from './postgres-roles';
import { type AccessProvider, type GrantResult, type GrantTarget, type PostgresLoginAttribute, type ProviderConfig, ProviderError } from './types';

export { temporaryLoginName } from './postgres-roles';

export type PostgresMode = Extract<ProviderConfig, { type: 'postgres' }>['mode'];

export interface PostgresProviderOptions {
  /** Admin connection string to the target cluster (needs CREATEROLE/ADMIN on the granted roles and
   * pg_signal_backend or superuser to end sessions). Never shown in messages. */
  url: string;
  /** `membership` (default): grants the role to the requester's own login. `temporary-login`: creates a login
   * per request, member of the role, whose password goes to the requester; revoke drops it. */
  mode?: PostgresMode;
  /** Attributes a login (or the role granted to it) may have without the grant being refused; none by default. */
  allowLoginAttributes?: readonly PostgresLoginAttribute[];
}

const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 10_000;
/** Client-side backstop for when the server cannot even enforce its statement_timeout (dead socket). */
const QUERY_TIMEOUT_MS = 15_000;
const UNDEFINED_OBJECT = '42704';
/** 43 base64url characters: 256 bits, far beyond guessing within a grant's lifetime. */
const TEMPORARY_PASSWORD_BYTES = 32;

/** Error codes that mean the target was not reached at all, as opposed to the target refusing something. */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Grants a database role on the target cluster: by direct role membership of the requester's login, or through
 * a temporary login created for the request. */
export class PostgresProvider implements AccessProvider {
  readonly type = 'postgres';
  readonly sharing: 'login' | 'request';
  private readonly mode: PostgresMode;
  private readonly allowedAttributes: ReadonlySet<PostgresLoginAttribute>;
  private readonly pool: Pool;
  private readonly password: string | null;
  /** Where temporary logins connect: the admin URL without credentials or parameters. */
  private readonly endpoint: string | null;

  constructor(options: PostgresProviderOptions) {
    this.mode = options.mode ?? 'membership';
    this.allowedAttributes = new Set(options.allowLoginAttributes ?? []);
    this.sharing = this.mode === 'membership' ? 'login' : 'request';
    this.password = passwordOf(options.url);
    this.endpoint = endpointOf(options.url);
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
    if (this.mode === 'temporary-login') return this.grantTemporaryLogin(target);
    assertIdentifier('login', target.login);
    assertIdentifier('role', target.grant);
    await this.withClient('grant', async (client) => {
      const login = await roleAttributes(client, target.login);
      const granted = await roleAttributes(client, target.grant);
      if (!login) throw new ProviderError(`login "${target.login}" does not exist on the target`);
      if (!granted) throw new ProviderError(`role "${target.grant}" does not exist on the target`);
      assertGrantable(login, granted, this.allowedAttributes);
      // Granting an existing membership is a no-op (a NOTICE), so this is idempotent.
      await client.query(`GRANT ${escapeIdentifier(target.grant)} TO ${escapeIdentifier(target.login)}`);
    });
    return {};
  }

  /** Role membership has no expiry of its own on the target; a temporary login's VALID UNTIL moves. */
  async extend(target: GrantTarget): Promise<void> {
    if (this.mode === 'temporary-login') await this.extendTemporaryLogin(target);
  }

  async revoke(target: GrantTarget): Promise<void> {
    if (this.mode === 'temporary-login') return this.revokeTemporaryLogin(target);
    assertIdentifier('login', target.login);
    assertIdentifier('role', target.grant);
    await this.withClient('revoke', async (client) => {
      const existing = await existingRoles(client, target.login, target.grant);
      if (!existing.login) return; // no login, no membership and no sessions: nothing to take away
      if (existing.grant) {
        // Revoking a membership that is not there is a no-op (a WARNING), so this is idempotent.
        await client.query(`REVOKE ${escapeIdentifier(target.grant)} FROM ${escapeIdentifier(target.login)}`).catch((error: unknown) => {
          // The role was dropped since we looked: its memberships went with it.
          if (!(error instanceof DatabaseError && error.code === UNDEFINED_OBJECT)) throw error;
        });
        // On PostgreSQL 16+ REVOKE only removes memberships granted by us; say so rather than report success.
        if (await hasDirectMembership(client, target.login, target.grant)) {
          throw new ProviderError(`role "${target.grant}" is still granted to "${target.login}" (granted by another role); revoke it by hand`);
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
    if (this.mode === 'temporary-login') return this.verifyTemporaryLogin(target);
    assertIdentifier('login', target.login);
    assertIdentifier('role', target.grant);
    return this.withClient('verify', (client) => hasDirectMembership(client, target.login, target.grant));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Creates the request's login (or, on a retry, resets the one an earlier attempt created) with a new password,
   * VALID UNTIL the grant's expiry as a second line of defence, and membership of the role. */
  private async grantTemporaryLogin(target: GrantTarget): Promise<GrantResult> {
    assertIdentifier('role', target.grant);
    const username = temporaryLoginName(target.requestNumber, target.login);
    const password = randomBytes(TEMPORARY_PASSWORD_BYTES).toString('base64url');
    const verifier = await scramVerifier(password);
    await this.withClient(
      'grant',
      async (client) => {
        const granted = await roleAttributes(client, target.grant);
        if (!granted) throw new ProviderError(`role "${target.grant}" does not exist on the target`);
        refuseAttributes(granted, 'role', this.allowedAttributes);
        const existing = await findTemporaryLogin(client, username, target);
        if (existing && !existing.ours) {
          throw new ProviderError(`role "${username}" already exists on the target and is not this request's temporary login`);
        }
        const role = escapeIdentifier(username);
        const options = `LOGIN PASSWORD ${escapeLiteral(verifier)} VALID UNTIL ${escapeLiteral(target.expiresAt.toISOString())}`;
        // One transaction, so a role never exists without the comment that marks it as ours.
        await inTransaction(client, async () => {
          // An existing login is from an earlier attempt whose password never reached the requester: replace it.
          await client.query(existing ? `ALTER ROLE ${role} ${options}` : `CREATE ROLE ${role} ${options}`);
          await client.query(`COMMENT ON ROLE ${role} IS ${escapeLiteral(ownerMark(target))}`);
          await client.query(`GRANT ${escapeIdentifier(target.grant)} TO ${role}`);
          // CREATE ROLE gives none of these, but a login left from an earlier attempt may have been changed since.
          const created = await roleAttributes(client, username);
          if (created) refuseAttributes(created, 'temporary login', this.allowedAttributes);
        });
      },
      [password, verifier],
    );
    return { credentials: { username, password, connectionHint: this.connectionHintFor(username) } };
  }

  private async extendTemporaryLogin(target: GrantTarget): Promise<void> {
    const username = temporaryLoginName(target.requestNumber, target.login);
    await this.withClient('extend', async (client) => {
      const existing = await findTemporaryLogin(client, username, target);
      if (!existing?.ours) throw new ProviderError(`temporary login "${username}" does not exist on the target`);
      await client.query(`ALTER ROLE ${escapeIdentifier(username)} VALID UNTIL ${escapeLiteral(target.expiresAt.toISOString())}`);
    });
  }

  /** Locks the login, ends its sessions and drops it. Objects it created in the admin's database go to the admin
   * user; objects or privileges in other databases block the drop, and the error says so. */
  private async revokeTemporaryLogin(target: GrantTarget): Promise<void> {
    const username = temporaryLoginName(target.requestNumber, target.login);
    await this.withClient('revoke', async (client) => {
      const existing = await findTemporaryLogin(client, username, target);
      if (!existing?.ours) return; // never created, already dropped, or not ours to touch
      // NOLOGIN first, so no new session can start between ending the open ones and the drop.
      await client.query(`ALTER ROLE ${escapeIdentifier(username)} NOLOGIN`);
      await terminateSessions(client, username);
      try {
        await dropRole(client, username);
      } catch (error) {
        if (!(error instanceof DatabaseError && error.code === DEPENDENT_OBJECTS_STILL_EXIST)) throw error;
        const detail = error.detail ? ` (${this.scrub(error.detail.replace(/\s+/g, ' ').slice(0, 200))})` : '';
        throw new ProviderError(
          `temporary login "${username}" can no longer log in but cannot be dropped: ${this.describe(error)}${detail}; ` +
            'reassign or drop what it owns in the databases named, then revocation completes',
        );
      }
    });
  }

  private async verifyTemporaryLogin(target: GrantTarget): Promise<boolean> {
    const username = temporaryLoginName(target.requestNumber, target.login);
    const existing = await this.withClient('verify', (client) => findTemporaryLogin(client, username, target));
    return existing?.ours === true && existing.canLogin && existing.member;
  }

  /** Membership mode: the login must be someone's login, with no more power than the policy allows, and the role
   * must not carry such power either (a member can SET ROLE to it). */
  /** `scheme://username@host:port/database`: how to connect, without any secret. */
  private connectionHintFor(username: string): string | null {
    if (this.endpoint === null) return null;
    const hint = new URL(this.endpoint);
    hint.username = username;
    return hint.toString();
  }

  /** `secrets`: values besides the admin password that must not appear in messages (e.g. a new login's). */
  private async withClient<T>(action: string, work: (client: PoolClient) => Promise<T>, secrets: readonly string[] = []): Promise<T> {
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
      const reason = this.describe(error, secrets);
      throw new ProviderError(broken ? `cannot reach the target database: ${reason}` : `target database refused to ${action}: ${reason}`);
    } finally {
      client.release(broken);
    }
  }

  /** A short, secret-free reason. The original error is not attached as `cause`: loggers would print it whole. */
  private describe(error: unknown, secrets: readonly string[] = []): string {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    // Duck-typed: socket errors may come from another realm (e.g. under jest), where instanceof Error fails.
    const rawMessage = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
    const message = typeof rawMessage === 'string' ? rawMessage : String(error);
    const line = message.split('\n')[0].slice(0, 200);
    const scrubbed = this.scrub(line, secrets);
    return typeof code === 'string' && error instanceof DatabaseError ? `${scrubbed} (${code})` : scrubbed;
  }

  private scrub(text: string, secrets: readonly string[] = []): string {
    return scrubSecrets(text, this.password === null ? secrets : [this.password, ...secrets]);
  }
}

async function inTransaction(client: PoolClient, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (error) {
    // If even ROLLBACK fails, its error wins: the connection is then unusable and withClient discards it.
    await client.query('ROLLBACK');
    throw error;
  }
}

/** The admin URL reduced to scheme, host, port and database; null when it has no host (a Unix socket given as a
 * parameter) or is not a URL. */
function endpointOf(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const endpoint = new URL(url);
  if (endpoint.host === '') return null;
  endpoint.username = '';
  endpoint.password = '';
  endpoint.search = '';
  endpoint.hash = '';
  return endpoint.toString();
}

function passwordOf(url: string): string | null {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length > 0 ? password : null;
  } catch {
    return null; // not a URL (e.g. a key=value string); the pattern scrub below still applies
  }
}

/** Removes credentials from error text: any `scheme://user:password@`, `password=…` and the literal secrets. */
function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
  scrubbed = scrubbed.replace(/password\s*=\s*\S+/gi, 'password=***');
  for (const secret of secrets) scrubbed = scrubbed.split(secret).join('***');
  return scrubbed;
}
