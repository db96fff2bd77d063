import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { PostgresProvider } from '../../src/providers/postgres-provider';
import { type GrantTarget, ProviderError } from '../../src/providers/types';

const targetUrl = process.env.TEST_TARGET_DATABASE_URL!;
/** Roles are cluster-wide and other suites share the cluster, so every name carries this run's suffix. */
const prefix = `bg_t_${randomBytes(4).toString('hex')}`;
const writeRole = `${prefix}_write`;
const readRole = `${prefix}_read`;
const weirdRole = `${prefix}_weird"role x`;
const alice = `${prefix}_alice`;
const bob = `${prefix}_bob`;
const carol = `${prefix} carol"`;
const group = `${prefix}_group`;
const boss = `${prefix}_boss`;
const maker = `${prefix}_maker`;
const bypasser = `${prefix}_bypasser`;
const powerRole = `${prefix}_power`;
const allRoles = [writeRole, readRole, weirdRole, alice, bob, carol, group, boss, maker, bypasser, powerRole];

let admin: Client;
let provider: PostgresProvider;

function targetFor(login: string, grant: string): GrantTarget {
  return {
    requestId: `req-${randomBytes(4).toString('hex')}`,
    requestNumber: 42,
    slackId: 'U123',
    login,
    resourceId: 'payments-db',
    roleId: 'write',
    grant,
    expiresAt: new Date(Date.now() + 3_600_000),
    reason: 'incident',
    ticket: null,
  };
}

/** Independent of the provider: asks the catalog directly whether `login` is a direct member of `role`. */
async function isDirectMember(login: string, role: string): Promise<boolean> {
  const result = await admin.query<{ member: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_auth_members m
       WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1)
         AND m.member = (SELECT oid FROM pg_roles WHERE rolname = $2)) AS member`,
    [role, login],
  );
  return result.rows[0].member;
}

function connectAs(login: string): Client {
  const url = new URL(targetUrl);
  url.username = encodeURIComponent(login);
  url.password = '';
  return new Client({ connectionString: url.toString() });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  admin = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
  await admin.connect();
  for (const role of [writeRole, readRole, weirdRole]) {
    await admin.query(`CREATE ROLE ${escapeIdentifier(role)} NOLOGIN`);
  }
  for (const login of [alice, bob, carol]) await admin.query(`CREATE ROLE ${escapeIdentifier(login)} LOGIN`);
  await admin.query(`CREATE ROLE ${escapeIdentifier(group)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${escapeIdentifier(boss)} LOGIN SUPERUSER`);
  await admin.query(`CREATE ROLE ${escapeIdentifier(maker)} LOGIN CREATEROLE`);
  await admin.query(`CREATE ROLE ${escapeIdentifier(bypasser)} LOGIN BYPASSRLS`);
  await admin.query(`CREATE ROLE ${escapeIdentifier(powerRole)} NOLOGIN CREATEROLE BYPASSRLS`);
  provider = new PostgresProvider({ url: targetUrl });
});

afterAll(async () => {
  await provider?.close();
  if (admin) {
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1::text[])`, [allRoles]);
    for (const role of allRoles) await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
    await admin.end();
  }
});

describe('PostgresProvider', () => {
  it('shares one membership between grants of the same role to a login, and has no expiry to extend', async () => {
    expect(provider.sharing).toBe('login');
    const target = targetFor(alice, writeRole);
    await provider.grant(target);
    await provider.extend({ ...target, expiresAt: new Date(Date.now() + 7_200_000) });
    expect(await provider.verify(target)).toBe(true);
    await provider.revoke(target);
  });

  it('grants a role, verifies it, and revokes it again', async () => {
    const target = targetFor(alice, writeRole);
    expect(await provider.verify(target)).toBe(false);

    await provider.grant(target);
    expect(await provider.verify(target)).toBe(true);
    expect(await isDirectMember(alice, writeRole)).toBe(true);

    await provider.revoke(target);
    expect(await provider.verify(target)).toBe(false);
    expect(await isDirectMember(alice, writeRole)).toBe(false);
  });

  it('is idempotent: granting twice and revoking twice succeed', async () => {
    const target = targetFor(bob, readRole);
    await provider.grant(target);
    await provider.grant(target);
    expect(await isDirectMember(bob, readRole)).toBe(true);

    await provider.revoke(target);
    await provider.revoke(target);
    expect(await isDirectMember(bob, readRole)).toBe(false);
    expect(await provider.verify(target)).toBe(false);
  });

  it('verify reflects the grant itself, not superuser or indirect privileges', async () => {
    // The admin user is a superuser: pg_has_role would say true, but nothing was granted to it.
    const adminUser = new URL(process.env.TEST_PG_ADMIN_URL!).username || 'postgres';
    expect(await provider.verify(targetFor(adminUser, writeRole))).toBe(false);

    // bob gets readRole only through writeRole: membership, but not the grant breakglass manages.
    await admin.query(`GRANT ${escapeIdentifier(readRole)} TO ${escapeIdentifier(writeRole)}`);
    await admin.query(`GRANT ${escapeIdentifier(writeRole)} TO ${escapeIdentifier(bob)}`);
    try {
      expect(await provider.verify(targetFor(bob, readRole))).toBe(false);
      expect(await provider.verify(targetFor(bob, writeRole))).toBe(true);
    } finally {
      await admin.query(`REVOKE ${escapeIdentifier(writeRole)} FROM ${escapeIdentifier(bob)}`);
      await admin.query(`REVOKE ${escapeIdentifier(readRole)} FROM ${escapeIdentifier(writeRole)}`);
    }
  });

  it('revoke terminates the open sessions of the login', async () => {
    const target = targetFor(alice, writeRole);
    await provider.grant(target);

    const session = connectAs(alice);
    const ended = new Promise<void>((resolve) => session.once('end', () => resolve()));
    const sessionErrors: Error[] = [];
    session.on('error', (error) => sessionErrors.push(error));
    await session.connect();
    await session.query(`SET ROLE ${escapeIdentifier(writeRole)}`);
    const who = await session.query<{ current_user: string }>('SELECT current_user');
    expect(who.rows[0].current_user).toBe(writeRole);

    await provider.revoke(target);

    await ended;
    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect(sessionErrors.map((error) => (error as Error & { code?: string }).code)).toContain('57P01');
    const remaining = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [alice]);
    expect(remaining.rows[0].n).toBe(0);
    expect(await isDirectMember(alice, writeRole)).toBe(false);
  });

  it('reports an unknown login or role with a clear message', async () => {
    const unknownLogin = await caught(provider.grant(targetFor(`${prefix}_nobody`, writeRole)));
    expect(unknownLogin).toBeInstanceOf(ProviderError);
    expect((unknownLogin as Error).message).toBe(`login "${prefix}_nobody" does not exist on the target`);

    const unknownRole = await caught(provider.grant(targetFor(alice, `${prefix}_no_such_role`)));
    expect(unknownRole).toBeInstanceOf(ProviderError);
    expect((unknownRole as Error).message).toBe(`role "${prefix}_no_such_role" does not exist on the target`);
  });

  describe('refusing targets with more power than the policy allows', () => {
    it('refuses a role that cannot log in: granting to a group role hands the role to all its members', async () => {
      const error = await caught(provider.grant(targetFor(group, writeRole)));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as Error).message).toBe(
        `refusing to grant: "${group}" is not a LOGIN role (it is a group role: granting to it would hand "${writeRole}" to all its members); ` +
          "map the requester to their own login in the policy's identities",
      );
      expect(await isDirectMember(group, writeRole)).toBe(false);
    });

    it('refuses a superuser, a CREATEROLE and a BYPASSRLS login, naming the attribute and how to fix it', async () => {
      for (const [login, attribute, allowName] of [
        [boss, 'SUPERUSER', 'superuser'],
        [maker, 'CREATEROLE', 'createrole'],
        [bypasser, 'BYPASSRLS', 'bypassrls'],
      ]) {
        const error = await caught(provider.grant(targetFor(login, writeRole)));
        expect(error).toBeInstanceOf(ProviderError);
        expect((error as Error).message).toBe(
          `refusing to grant: login "${login}" has ${attribute}, beyond what the policy allows; ` +
            `remove it on the target (ALTER ROLE "${login}" NO${attribute}) or, if it is intended, add ${allowName} to the provider's allowLoginAttributes`,
        );
        expect(await isDirectMember(login, writeRole)).toBe(false);
      }
    });

    it('refuses a role whose attributes any member could take on with SET ROLE', async () => {
      const error = await caught(provider.grant(targetFor(alice, powerRole)));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as Error).message).toMatch(new RegExp(`^refusing to grant: role "${powerRole}" has CREATEROLE and BYPASSRLS, which any member can take on with SET ROLE`));
      expect((error as Error).message).toContain(`ALTER ROLE "${powerRole}" NOCREATEROLE NOBYPASSRLS`);
      expect(await isDirectMember(alice, powerRole)).toBe(false);
    });

    it('grants what the policy allows, and nothing more', async () => {
      const lenient = new PostgresProvider({ url: targetUrl, allowLoginAttributes: ['createrole'] });
      try {
        const target = targetFor(maker, writeRole);
        await lenient.grant(target);
        expect(await isDirectMember(maker, writeRole)).toBe(true);
        await lenient.revoke(target);
        expect(await isDirectMember(maker, writeRole)).toBe(false);
        expect(((await caught(lenient.grant(targetFor(bypasser, writeRole)))) as Error).message).toMatch(/has BYPASSRLS, beyond what the policy allows/);
        expect(((await caught(lenient.grant(targetFor(alice, powerRole)))) as Error).message).toMatch(/has BYPASSRLS, which any member/);
      } finally {
        await lenient.close();
      }
    });
  });

  it('revoking for an unknown login or role succeeds: there is nothing to take away', async () => {
    await provider.revoke(targetFor(`${prefix}_nobody`, writeRole));
    await provider.revoke(targetFor(alice, `${prefix}_no_such_role`));
    expect(await provider.verify(targetFor(`${prefix}_nobody`, writeRole))).toBe(false);
  });

  it('handles identifiers with quotes and spaces safely', async () => {
    const target = targetFor(carol, weirdRole);
    await provider.grant(target);
    expect(await provider.verify(target)).toBe(true);
    expect(await isDirectMember(carol, weirdRole)).toBe(true);
    await provider.revoke(target);
    expect(await isDirectMember(carol, weirdRole)).toBe(false);
  });

  it('does not let a crafted name inject SQL', async () => {
    // Naively wrapped in double quotes this would run `GRANT "<writeRole>" TO "<bob>"; --" TO "<alice>"`.
    const crafted = `${writeRole}" TO "${bob}"; --`;
    const error = await caught(provider.grant(targetFor(alice, crafted)));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toContain('does not exist on the target');
    expect(await isDirectMember(alice, writeRole)).toBe(false);
    expect(await isDirectMember(bob, writeRole)).toBe(false);
    await provider.revoke(targetFor(alice, crafted));
  });

  it('rejects names PostgreSQL would silently truncate', async () => {
    const error = await caught(provider.grant(targetFor(alice, `${writeRole}${'x'.repeat(64)}`)));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toContain('longer than 63 bytes');
  });

  it('fails fast with a secret-free ProviderError when the target is unreachable', async () => {
    const unreachable = new PostgresProvider({ url: 'postgresql://breakglass:Sup3rSecretPw@127.0.0.1:1/postgres' });
    try {
      const started = Date.now();
      const error = await caught(unreachable.grant(targetFor(alice, writeRole)));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as Error).message).toMatch(/^cannot reach the target database: /);
      expect((error as Error).message).not.toContain('Sup3rSecretPw');
      expect((error as Error).message).not.toContain('breakglass:');
      expect(await caught(unreachable.verify(targetFor(alice, writeRole)))).toBeInstanceOf(ProviderError);
    } finally {
      await unreachable.close();
    }
  });

  it('reports a refused connection without the password', async () => {
    const url = new URL(targetUrl);
    url.password = 'Sup3rSecretPw';
    url.pathname = `/${prefix}_no_such_database`;
    const misconfigured = new PostgresProvider({ url: url.toString() });
    try {
      const error = await caught(misconfigured.verify(targetFor(alice, writeRole)));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as Error).message).toMatch(/^cannot reach the target database: .*does not exist/);
      expect((error as Error).message).not.toContain('Sup3rSecretPw');
    } finally {
      await misconfigured.close();
    }
  });
});
