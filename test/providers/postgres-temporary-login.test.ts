import { createHash, createHmac, pbkdf2Sync, randomBytes, randomInt } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { PostgresProvider, temporaryLoginName } from '../../src/providers/postgres-provider';
import { type Credentials, type GrantTarget, ProviderError } from '../../src/providers/types';

const targetUrl = process.env.TEST_TARGET_DATABASE_URL!;
/** Roles are cluster-wide and other suites share the cluster, so every name carries this run's suffix. */
const prefix = `bg_t_${randomBytes(4).toString('hex')}`;
const readerRole = `${prefix}_reader`;
const weakAdmin = `${prefix}_weak_admin`;
/** A role any member could SET ROLE to and bypass row security. */
const bypassRole = `${prefix}_bypass`;
const ledger = `${prefix}_ledger`;
const secrets = `${prefix}_secrets`;
/** A table in another database than the provider's, to block a drop. */
const elsewhere = `${prefix}_elsewhere`;
/** Request numbers no other suite uses, so the temporary logins' names are ours alone. */
let nextRequestNumber = 900_000_000 + randomInt(90_000_000);

/** The provider's own database, and the cluster's default one (another database, for the provider). */
let targetAdmin: Client;
let clusterAdmin: Client;
let provider: PostgresProvider;
const createdLogins = new Set<string>();

function newTarget(login = 'alice', overrides: Partial<GrantTarget> = {}): GrantTarget {
  const target: GrantTarget = {
    requestId: `req-${randomBytes(4).toString('hex')}`,
    requestNumber: nextRequestNumber++,
    slackId: 'U123',
    login,
    resourceId: 'payments-db',
    roleId: 'read',
    grant: readerRole,
    expiresAt: new Date(Date.now() + 3_600_000),
    reason: 'incident',
    ticket: null,
    ...overrides,
  };
  createdLogins.add(temporaryLoginName(target.requestNumber, target.login));
  return target;
}

interface StoredLogin {
  rolcanlogin: boolean;
  rolvaliduntil: Date | null;
  rolpassword: string | null;
}

async function storedLogin(username: string): Promise<StoredLogin | undefined> {
  const result = await targetAdmin.query<StoredLogin>('SELECT rolcanlogin, rolvaliduntil, rolpassword FROM pg_authid WHERE rolname = $1', [username]);
  return result.rows[0];
}

/** What PostgreSQL checks at a SCRAM-SHA-256 login (RFC 5802): the test cluster trusts local connections, so
 * connecting does not prove the password; this does. */
function passwordMatches(verifier: string | null, password: string): boolean {
  const parts = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier ?? '');
  if (!parts) return false;
  const [, iterations, salt, storedKey, serverKey] = parts;
  const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return createHash('sha256').update(clientKey).digest('base64') === storedKey && createHmac('sha256', salted).update('Server Key').digest('base64') === serverKey;
}

/** Connects the way the requester would: the hint, plus the password typed in. */
async function connectWith(credentials: Credentials): Promise<Client> {
  const url = new URL(credentials.connectionHint!);
  url.password = credentials.password;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  clusterAdmin = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
  await clusterAdmin.connect();
  targetAdmin = new Client({ connectionString: targetUrl });
  await targetAdmin.connect();
  await targetAdmin.query(`CREATE ROLE ${escapeIdentifier(readerRole)} NOLOGIN`);
  await targetAdmin.query(`CREATE ROLE ${escapeIdentifier(weakAdmin)} LOGIN`);
  await targetAdmin.query(`CREATE ROLE ${escapeIdentifier(bypassRole)} NOLOGIN BYPASSRLS`);
  await targetAdmin.query(`CREATE TABLE ${escapeIdentifier(ledger)} (amount int)`);
  await targetAdmin.query(`INSERT INTO ${escapeIdentifier(ledger)} VALUES (7)`);
  await targetAdmin.query(`CREATE TABLE ${escapeIdentifier(secrets)} (value text)`);
  await targetAdmin.query(`GRANT SELECT ON ${escapeIdentifier(ledger)} TO ${escapeIdentifier(readerRole)}`);
  await clusterAdmin.query(`CREATE TABLE ${escapeIdentifier(elsewhere)} (id int)`);
  provider = new PostgresProvider({ url: targetUrl, mode: 'temporary-login' });
});

afterAll(async () => {
  await provider?.close();
  const logins = [...createdLogins];
  if (clusterAdmin) {
    await clusterAdmin.query(`DROP TABLE IF EXISTS ${escapeIdentifier(elsewhere)}`);
    await clusterAdmin.end();
  }
  if (targetAdmin) {
    await targetAdmin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1::text[])', [logins]);
    await targetAdmin.query(`DROP TABLE IF EXISTS ${escapeIdentifier(ledger)}, ${escapeIdentifier(secrets)}`);
    for (const role of [...logins, readerRole, weakAdmin, bypassRole]) {
      const exists = await targetAdmin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (exists.rowCount === 0) continue;
      await targetAdmin.query(`DROP OWNED BY ${escapeIdentifier(role)}`);
      await targetAdmin.query(`DROP ROLE ${escapeIdentifier(role)}`);
    }
    await targetAdmin.end();
  }
});

describe('temporaryLoginName', () => {
  it('is bg_<request number>_<login> in [a-z0-9_]', () => {
    expect(temporaryLoginName(42, 'alice')).toBe('bg_42_alice');
    expect(temporaryLoginName(42, 'Alice.Smith-ü "x"')).toBe('bg_42_alice_smith____x_');
  });

  it('stays within the 63 bytes PostgreSQL keeps of a name', () => {
    const name = temporaryLoginName(1_234_567, `a${'é'.repeat(40)}${'b'.repeat(40)}`);
    expect(Buffer.byteLength(name, 'utf8')).toBe(63);
    expect(name).toMatch(/^bg_1234567_a_+b+$/);
  });
});

describe('PostgresProvider in temporary-login mode', () => {
  it('gives every request its own login, not shared with other grants', () => {
    expect(provider.sharing).toBe('request');
    expect(provider.type).toBe('postgres');
  });

  it('grants a login that connects with the role’s privileges, valid until the expiry', async () => {
    const target = newTarget();
    const username = `bg_${target.requestNumber}_alice`;
    expect(await provider.verify(target)).toBe(false);

    const { credentials } = await provider.grant(target);
    expect(credentials).toEqual({
      username,
      password: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      connectionHint: `postgresql://${username}@127.0.0.1:5432/${new URL(process.env.TEST_TARGET_DATABASE_URL!).pathname.slice(1)}`,
    });
    expect(await provider.verify(target)).toBe(true);

    const stored = await storedLogin(username);
    expect(stored?.rolcanlogin).toBe(true);
    expect(stored?.rolvaliduntil?.getTime()).toBe(target.expiresAt.getTime());
    expect(passwordMatches(stored!.rolpassword, credentials!.password)).toBe(true);

    const session = await connectWith(credentials!);
    try {
      expect((await session.query('SELECT current_user AS who')).rows[0].who).toBe(username);
      expect((await session.query(`SELECT amount FROM ${escapeIdentifier(ledger)}`)).rows).toEqual([{ amount: 7 }]);
      await expect(session.query(`SELECT * FROM ${escapeIdentifier(secrets)}`)).rejects.toThrow(/permission denied/);
    } finally {
      await session.end();
    }
  });

  it('extend moves VALID UNTIL and leaves the access in place', async () => {
    const target = newTarget();
    const { credentials } = await provider.grant(target);
    const later = new Date(target.expiresAt.getTime() + 1_800_000);

    await provider.extend({ ...target, expiresAt: later });

    expect((await storedLogin(credentials!.username))?.rolvaliduntil?.getTime()).toBe(later.getTime());
    expect(await provider.verify(target)).toBe(true);
  });

  it('extend fails when the login is not there', async () => {
    const target = newTarget();
    const error = await caught(provider.extend(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe(`temporary login "bg_${target.requestNumber}_alice" does not exist on the target`);
  });

  it('revoke ends the open sessions and drops the login; revoking again succeeds', async () => {
    const target = newTarget();
    const { credentials } = await provider.grant(target);
    const session = await connectWith(credentials!);
    const ended = new Promise<void>((resolve) => session.once('end', () => resolve()));
    const sessionErrors: Error[] = [];
    session.on('error', (error) => sessionErrors.push(error));

    await provider.revoke(target);

    await ended;
    expect(sessionErrors.map((error) => (error as Error & { code?: string }).code)).toContain('57P01');
    expect(await storedLogin(credentials!.username)).toBeUndefined();
    expect(await provider.verify(target)).toBe(false);
    await provider.revoke(target);
    expect(await provider.verify(target)).toBe(false);
  });

  it('revoke hands what the login created to the admin user before dropping it', async () => {
    await targetAdmin.query(`GRANT CREATE ON SCHEMA public TO ${escapeIdentifier(readerRole)}`);
    try {
      const target = newTarget();
      const { credentials } = await provider.grant(target);
      const session = await connectWith(credentials!);
      const table = `${prefix}_made_during_incident`;
      await session.query(`CREATE TABLE ${escapeIdentifier(table)} (id int)`);
      await session.end();

      await provider.revoke(target);

      expect(await storedLogin(credentials!.username)).toBeUndefined();
      const owner = await targetAdmin.query('SELECT tableowner FROM pg_tables WHERE tablename = $1', [table]);
      expect(owner.rows).toEqual([{ tableowner: new URL(targetUrl).username || 'postgres' }]);
      await targetAdmin.query(`DROP TABLE ${escapeIdentifier(table)}`);
    } finally {
      await targetAdmin.query(`REVOKE CREATE ON SCHEMA public FROM ${escapeIdentifier(readerRole)}`);
    }
  });

  it('revoke says clearly when something in another database blocks the drop, with the login already locked', async () => {
    const target = newTarget();
    const { credentials } = await provider.grant(target);
    await clusterAdmin.query(`GRANT SELECT ON ${escapeIdentifier(elsewhere)} TO ${escapeIdentifier(credentials!.username)}`);

    const error = await caught(provider.revoke(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe(
      `temporary login "${credentials!.username}" can no longer log in but cannot be dropped: ` +
        `role "${credentials!.username}" cannot be dropped because some objects depend on it (2BP01) ` +
        `(1 object in database postgres); reassign or drop what it owns in the databases named, then revocation completes`,
    );
    expect((await storedLogin(credentials!.username))?.rolcanlogin).toBe(false);
    expect(await provider.verify(target)).toBe(false);

    await clusterAdmin.query(`REVOKE SELECT ON ${escapeIdentifier(elsewhere)} FROM ${escapeIdentifier(credentials!.username)}`);
    await provider.revoke(target);
    expect(await storedLogin(credentials!.username)).toBeUndefined();
  });

  it('granting again (a retry) resets the password and expiry and turns login back on', async () => {
    const target = newTarget();
    const first = (await provider.grant(target)).credentials!;
    await targetAdmin.query(`ALTER ROLE ${escapeIdentifier(first.username)} NOLOGIN`);
    const retried = { ...target, expiresAt: new Date(target.expiresAt.getTime() + 60_000) };

    const second = (await provider.grant(retried)).credentials!;

    expect(second.username).toBe(first.username);
    expect(second.password).not.toBe(first.password);
    const stored = await storedLogin(second.username);
    expect(passwordMatches(stored!.rolpassword, second.password)).toBe(true);
    expect(passwordMatches(stored!.rolpassword, first.password)).toBe(false);
    expect(stored?.rolvaliduntil?.getTime()).toBe(retried.expiresAt.getTime());
    expect(await provider.verify(retried)).toBe(true);
    const session = await connectWith(second);
    await session.end();
  });

  it('reports a role that does not exist, and creates no login', async () => {
    const target = newTarget('alice', { grant: `${prefix}_no_such_role` });
    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe(`role "${prefix}_no_such_role" does not exist on the target`);
    expect(await storedLogin(`bg_${target.requestNumber}_alice`)).toBeUndefined();
  });

  it('refuses a role with attributes beyond what the policy allows, and creates no login', async () => {
    const target = newTarget('alice', { grant: bypassRole });
    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toMatch(new RegExp(`^refusing to grant: role "${bypassRole}" has BYPASSRLS, which any member can take on with SET ROLE`));
    expect(error.message).toContain("add bypassrls to the provider's allowLoginAttributes");
    expect(await storedLogin(`bg_${target.requestNumber}_alice`)).toBeUndefined();
  });

  it('refuses to hand out its own login again once someone gave it more power, and leaves it unable to log in', async () => {
    const target = newTarget();
    const { credentials } = await provider.grant(target);
    await targetAdmin.query(`ALTER ROLE ${escapeIdentifier(credentials!.username)} NOLOGIN CREATEROLE`);

    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toMatch(new RegExp(`^refusing to grant: temporary login "${credentials!.username}" has CREATEROLE, beyond what the policy allows`));
    // The retry's ALTER ROLE … LOGIN was rolled back with the refusal.
    expect((await storedLogin(credentials!.username))?.rolcanlogin).toBe(false);
    await provider.revoke(target);
    expect(await storedLogin(credentials!.username)).toBeUndefined();
  });

  it('does not need the requester to have a login on the target, and handles any login text', async () => {
    const target = newTarget(`Zoë.O'Brien-${'x'.repeat(80)}`);
    const { credentials } = await provider.grant(target);
    expect(credentials!.username).toMatch(/^bg_\d+_zo__o_brien_x+$/);
    expect(credentials!.username).toHaveLength(63);
    expect(await provider.verify(target)).toBe(true);
    await provider.revoke(target);
    expect(await provider.verify(target)).toBe(false);
  });

  it('never resets, extends or drops a role of the same name that is not this request’s login', async () => {
    const target = newTarget('mallory');
    const username = `bg_${target.requestNumber}_mallory`;
    await targetAdmin.query(`CREATE ROLE ${escapeIdentifier(username)} LOGIN IN ROLE ${escapeIdentifier(readerRole)}`);

    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe(`role "${username}" already exists on the target and is not this request's temporary login`);
    expect(await provider.verify(target)).toBe(false);
    await expect(provider.extend(target)).rejects.toThrow(ProviderError);
    await provider.revoke(target);
    expect((await storedLogin(username))?.rolcanlogin).toBe(true);

    // Another request (e.g. another bot on the same cluster) with the same number does not own it either.
    const ours = newTarget('alice');
    await provider.grant(ours);
    const sameNumber = { ...ours, requestId: 'req-another-bot' };
    await expect(provider.grant(sameNumber)).rejects.toThrow(/is not this request's temporary login/);
    await provider.revoke(sameNumber);
    expect(await provider.verify(ours)).toBe(true);
  });

  describe('keeping the password secret', () => {
    afterEach(() => jest.restoreAllMocks());

    it('never sends the password itself to the server', async () => {
      const sent = jest.spyOn(Client.prototype, 'query');
      const { credentials } = await provider.grant(newTarget());
      const statements = JSON.stringify(sent.mock.calls);
      expect(statements).toContain('SCRAM-SHA-256$4096:');
      expect(statements).not.toContain(credentials!.password);
    });

    it('keeps the password and its verifier out of the error when the server refuses', async () => {
      const url = new URL(targetUrl);
      url.username = weakAdmin; // may log in, may not create roles
      const weak = new PostgresProvider({ url: url.toString(), mode: 'temporary-login' });
      const sent = jest.spyOn(Client.prototype, 'query');
      try {
        const error = await caught(weak.grant(newTarget()));
        expect(error).toBeInstanceOf(ProviderError);
        expect(error.message).toBe('target database refused to grant: permission denied to create role (42501)');
        const verifier = /SCRAM-SHA-256\$[^']+/.exec(JSON.stringify(sent.mock.calls))![0];
        expect(error.message).not.toContain(verifier.split('$')[2]);
        expect(JSON.stringify(error)).not.toMatch(/SCRAM|PASSWORD/i);
      } finally {
        await weak.close();
      }
    });
  });
});
