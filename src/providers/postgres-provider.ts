import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { DatabaseError, escapeIdentifier, escapeLiteral, Pool, type PoolClient } from 'pg';
import { type AccessProvider, type GrantResult, type GrantTarget, POSTGRES_LOGIN_ATTRIBUTES, type PostgresLoginAttribute, type ProviderConfig, ProviderError } from './types';

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

/** PostgreSQL truncates longer identifiers silently, which could make a long name hit a different role. */
const MAX_IDENTIFIER_BYTES = 63;
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 10_000;
/** Client-side backstop for when the server cannot even enforce its statement_timeout (dead socket). */
const QUERY_TIMEOUT_MS = 15_000;
const UNDEFINED_OBJECT = '42704';
const DEPENDENT_OBJECTS_STILL_EXIST = '2BP01';
/** 43 base64url characters: 256 bits, far beyond guessing within a grant's lifetime. */
const TEMPORARY_PASSWORD_BYTES = 32;
/** PostgreSQL's own defaults (scram_iterations, libpq's salt length). */
const SCRAM_ITERATIONS = 4096;
const SCRAM_SALT_BYTES = 16;
const pbkdf2Async = promisify(pbkdf2);

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
      this.assertGrantable(login, granted);
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
        this.refuseAttributes(granted, 'role');
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
          if (created) this.refuseAttributes(created, 'temporary login');
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
  private assertGrantable(login: RoleAttributes, granted: RoleAttributes): void {
    if (!login.canLogin) {
      throw new ProviderError(
        `refusing to grant: "${login.name}" is not a LOGIN role (it is a group role: granting to it would hand "${granted.name}" to all its members); ` +
          "map the requester to their own login in the policy's identities",
      );
    }
    this.refuseAttributes(login, 'login');
    this.refuseAttributes(granted, 'role');
  }

  private refuseAttributes(role: RoleAttributes, kind: 'login' | 'role' | 'temporary login'): void {
    const refused = POSTGRES_LOGIN_ATTRIBUTES.filter((attribute) => role.attributes[attribute] && !this.allowedAttributes.has(attribute));
    if (refused.length === 0) return;
    const names = refused.map((attribute) => attribute.toUpperCase());
    const why = kind === 'role' ? ', which any member can take on with SET ROLE' : '';
    throw new ProviderError(
      `refusing to grant: ${kind} "${role.name}" has ${names.join(' and ')}${why}, beyond what the policy allows; ` +
        `remove it on the target (ALTER ROLE ${escapeIdentifier(role.name)} ${names.map((name) => `NO${name}`).join(' ')}) ` +
        `or, if it is intended, add ${refused.join(', ')} to the provider's allowLoginAttributes`,
    );
  }

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

/** `bg_<request number>_<login>` in [a-z0-9_], cut to PostgreSQL's identifier limit: one per request, and
 * recognisable in pg_stat_activity and the server's logs. */
export function temporaryLoginName(requestNumber: number, login: string): string {
  const sanitizedLogin = login.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `bg_${requestNumber}_${sanitizedLogin}`.slice(0, MAX_IDENTIFIER_BYTES); // ASCII: characters are bytes
}

/** The role comment that marks a login as this request's, so a role someone else created under the same name
 * (or another bot's request with the same number) is never reset, extended or dropped. */
function ownerMark(target: GrantTarget): string {
  return `breakglass temporary login for request ${target.requestId}`;
}

/** The SCRAM-SHA-256 verifier PostgreSQL would store for `password` (RFC 5802 and 7677, as libpq's
 * PQencryptPasswordConn builds it). CREATE/ALTER ROLE … PASSWORD stores it as is, so the password itself never
 * reaches the server: not its logs (log_statement, a failing statement), not pg_stat_activity. The password is
 * base64url, so SASLprep leaves it unchanged. Needs PostgreSQL 10 or later. */
async function scramVerifier(password: string): Promise<string> {
  const salt = randomBytes(SCRAM_SALT_BYTES);
  const saltedPassword = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  const encode = (bytes: Buffer) => bytes.toString('base64');
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${encode(salt)}$${encode(storedKey)}:${encode(serverKey)}`;
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

function assertIdentifier(kind: 'login' | 'role', name: string): void {
  if (name.length === 0) throw new ProviderError(`${kind} name is empty`);
  if (name.includes('\0')) throw new ProviderError(`${kind} name contains a NUL character`);
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new ProviderError(`${kind} name "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
}

interface RoleAttributes {
  name: string;
  canLogin: boolean;
  attributes: Record<PostgresLoginAttribute, boolean>;
}

/** The role's attributes from pg_roles, or null when there is no such role. */
async function roleAttributes(client: PoolClient, name: string): Promise<RoleAttributes | null> {
  const result = await client.query<{ rolcanlogin: boolean; rolsuper: boolean; rolcreaterole: boolean; rolbypassrls: boolean }>(
    'SELECT rolcanlogin, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = $1',
    [name],
  );
  const row = result.rows[0];
  if (!row) return null;
  return { name, canLogin: row.rolcanlogin, attributes: { superuser: row.rolsuper, createrole: row.rolcreaterole, bypassrls: row.rolbypassrls } };
}

interface TemporaryLogin {
  /** Carries this request's owner mark. */
  ours: boolean;
  canLogin: boolean;
  /** Direct member of the target's `grant` role. */
  member: boolean;
}

async function findTemporaryLogin(client: PoolClient, username: string, target: GrantTarget): Promise<TemporaryLogin | null> {
  const result = await client.query<{ ours: boolean; can_login: boolean; member: boolean }>(
    `SELECT shobj_description(login.oid, 'pg_authid') IS NOT DISTINCT FROM $3 AS ours,
            login.rolcanlogin AS can_login,
            EXISTS (
              SELECT 1
                FROM pg_auth_members m
                JOIN pg_roles granted ON granted.oid = m.roleid
               WHERE m.member = login.oid AND granted.rolname = $2
            ) AS member
       FROM pg_roles login
      WHERE login.rolname = $1`,
    [username, target.grant, ownerMark(target)],
  );
  const row = result.rows[0];
  return row ? { ours: row.ours, canLogin: row.can_login, member: row.member } : null;
}

/** DROP ROLE fails while the role owns objects or holds privileges. REASSIGN OWNED and DROP OWNED clear those, but
 * only in the database the admin is connected to: anything in another database still blocks the drop. */
async function dropRole(client: PoolClient, username: string): Promise<void> {
  const role = escapeIdentifier(username);
  try {
    await client.query(`DROP ROLE ${role}`);
  } catch (error) {
    if (!(error instanceof DatabaseError && error.code === DEPENDENT_OBJECTS_STILL_EXIST)) throw error;
    await client.query(`REASSIGN OWNED BY ${role} TO CURRENT_USER`);
    await client.query(`DROP OWNED BY ${role}`); // now only the privileges granted to it
    await client.query(`DROP ROLE ${role}`);
  }
}

async function existingRoles(client: PoolClient, login: string, grant: string): Promise<{ login: boolean; grant: boolean }> {
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
