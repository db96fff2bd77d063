/** What the postgres provider asks the target's catalog and how it shapes roles: identifiers, role attributes and
 * the refusals they lead to, temporary logins (name, owner mark, SCRAM verifier), membership, dropping a role. */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { DatabaseError, escapeIdentifier, type PoolClient } from 'pg';
import { type GrantTarget, POSTGRES_LOGIN_ATTRIBUTES, type PostgresLoginAttribute, ProviderError } from './types';

/** PostgreSQL truncates longer identifiers silently, which could make a long name hit a different role. */
const MAX_IDENTIFIER_BYTES = 63;
export const DEPENDENT_OBJECTS_STILL_EXIST = '2BP01';
/** PostgreSQL's own defaults (scram_iterations, libpq's salt length). */
const SCRAM_ITERATIONS = 4096;
const SCRAM_SALT_BYTES = 16;
const pbkdf2Async = promisify(pbkdf2);

/** `bg_<request number>_<login>` in [a-z0-9_], cut to PostgreSQL's identifier limit: one per request, and
 * recognisable in pg_stat_activity and the server's logs. */
export function temporaryLoginName(requestNumber: number, login: string): string {
  const sanitizedLogin = login.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `bg_${requestNumber}_${sanitizedLogin}`.slice(0, MAX_IDENTIFIER_BYTES); // ASCII: characters are bytes
}

/** The role comment that marks a login as this request's, so a role someone else created under the same name
 * (or another bot's request with the same number) is never reset, extended or dropped. */
export function ownerMark(target: GrantTarget): string {
  return `breakglass temporary login for request ${target.requestId}`;
}

/** The SCRAM-SHA-256 verifier PostgreSQL would store for `password` (RFC 5802 and 7677, as libpq's
 * PQencryptPasswordConn builds it). CREATE/ALTER ROLE … PASSWORD stores it as is, so the password itself never
 * reaches the server: not its logs (log_statement, a failing statement), not pg_stat_activity. The password is
 * base64url, so SASLprep leaves it unchanged. Needs PostgreSQL 10 or later. */
export async function scramVerifier(password: string): Promise<string> {
  const salt = randomBytes(SCRAM_SALT_BYTES);
  const saltedPassword = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  const encode = (bytes: Buffer) => bytes.toString('base64');
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${encode(salt)}$${encode(storedKey)}:${encode(serverKey)}`;
}

export function assertIdentifier(kind: 'login' | 'role', name: string): void {
  if (name.length === 0) throw new ProviderError(`${kind} name is empty`);
  if (name.includes('\0')) throw new ProviderError(`${kind} name contains a NUL character`);
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new ProviderError(`${kind} name "${name}" is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }
}

export interface RoleAttributes {
  name: string;
  canLogin: boolean;
  attributes: Record<PostgresLoginAttribute, boolean>;
}

/** The role's attributes from pg_roles, or null when there is no such role. */
export async function roleAttributes(client: PoolClient, name: string): Promise<RoleAttributes | null> {
  const result = await client.query<{ rolcanlogin: boolean; rolsuper: boolean; rolcreaterole: boolean; rolbypassrls: boolean }>(
    'SELECT rolcanlogin, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = $1',
    [name],
  );
  const row = result.rows[0];
  if (!row) return null;
  return { name, canLogin: row.rolcanlogin, attributes: { superuser: row.rolsuper, createrole: row.rolcreaterole, bypassrls: row.rolbypassrls } };
}

export interface TemporaryLogin {
  /** Carries this request's owner mark. */
  ours: boolean;
  canLogin: boolean;
  /** Direct member of the target's `grant` role. */
  member: boolean;
}

export async function findTemporaryLogin(client: PoolClient, username: string, target: GrantTarget): Promise<TemporaryLogin | null> {
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
export async function dropRole(client: PoolClient, username: string): Promise<void> {
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

export async function existingRoles(client: PoolClient, login: string, grant: string): Promise<{ login: boolean; grant: boolean }> {
  const result = await client.query<{ login: boolean; grant: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS login,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) AS grant`,
    [login, grant],
  );
  return result.rows[0];
}

export async function hasDirectMembership(client: PoolClient, login: string, grant: string): Promise<boolean> {
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

export async function terminateSessions(client: PoolClient, login: string): Promise<void> {
  await client.query(
    `SELECT pg_terminate_backend(pid)
       FROM pg_stat_activity
      WHERE usename = $1 AND pid <> pg_backend_pid()`,
    [login],
  );
}

export function assertGrantable(login: RoleAttributes, granted: RoleAttributes, allowed: ReadonlySet<PostgresLoginAttribute>): void {
  if (!login.canLogin) {
    throw new ProviderError(
      `refusing to grant: "${login.name}" is not a LOGIN role (it is a group role: granting to it would hand "${granted.name}" to all its members); ` +
        "map the requester to their own login in the policy's identities",
    );
  }
  refuseAttributes(login, 'login', allowed);
  refuseAttributes(granted, 'role', allowed);
}

export function refuseAttributes(role: RoleAttributes, kind: 'login' | 'role' | 'temporary login', allowed: ReadonlySet<PostgresLoginAttribute>): void {
  const refused = POSTGRES_LOGIN_ATTRIBUTES.filter((attribute) => role.attributes[attribute] && !allowed.has(attribute));
  if (refused.length === 0) return;
  const names = refused.map((attribute) => attribute.toUpperCase());
  const why = kind === 'role' ? ', which any member can take on with SET ROLE' : '';
  throw new ProviderError(
    `refusing to grant: ${kind} "${role.name}" has ${names.join(' and ')}${why}, beyond what the policy allows; ` +
      `remove it on the target (ALTER ROLE ${escapeIdentifier(role.name)} ${names.map((name) => `NO${name}`).join(' ')}) ` +
      `or, if it is intended, add ${refused.join(', ')} to the provider's allowLoginAttributes`,
  );
}
