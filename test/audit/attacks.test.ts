import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { verifyAuditChain } from '../../src/audit/verify';
import { createPrisma, type Db } from '../../src/db/prisma';
import { createOwnerDb, TEST_BOT_ROLE, truncateAll } from '../support/databases';
import { addEvent, createRequest, seal } from './audit-fixtures';

/**
 * Attacks on the audit trail, on real PostgreSQL, by the two roles a deployment has (docs/security.md, "Two database roles"):
 * - the bot's role (DATABASE_URL, a member of breakglass_app): whoever takes over the bot process or its password.
 *   Every attack is refused by PostgreSQL itself (permission denied), and the chain still verifies afterwards;
 * - the owner (MIGRATION_DATABASE_URL): whoever has the owner's password can do anything to the tables. What it
 *   does is detected by verify, except a rewrite of the whole end of the chain, which only a head kept elsewhere
 *   catches (verify recomputes hashes in Node, so a redefined hash function does not help).
 */

/** The bot's role, as the bot connects (Prisma, for the fixtures and verify) and as raw SQL (for the attacks). */
let db: Db;
let bot: Client;
/** The tables' owner. */
let owner: Client;
let ownerDb: Db;
let requestId: string;

beforeAll(async () => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
  ownerDb = createOwnerDb();
  bot = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  owner = new Client({ connectionString: process.env.TEST_OWNER_DATABASE_URL });
  await bot.connect();
  await owner.connect();
});

beforeEach(async () => {
  await truncateAll();
  requestId = (await createRequest(db)).id;
  for (let n = 1; n <= 6; n++) await addEvent(db, { requestId: n % 2 ? requestId : null, actor: `U0ACTOR${n}`, action: 'APPROVAL_RECORDED', details: { n } });
  // Sealed as the bot's role: EXECUTE on audit_seal is all it needs.
  await seal(db);
});

afterAll(async () => {
  await bot.end();
  await owner.end();
  await db.$disconnect();
  await ownerDb.$disconnect();
});

/** The events as they are, to show that a refused attack changed nothing. */
const snapshot = async () => (await owner.query('SELECT * FROM "AuditEvent" ORDER BY id')).rows;
const head = async () => (await owner.query('SELECT seq::int AS seq, hash FROM "AuditChainHead" WHERE id = 1')).rows[0] as { seq: number; hash: string } | undefined;

/** Runs `sql` as the bot's role in a transaction of its own and expects PostgreSQL to refuse it for lack of rights. */
async function refusedToBot(sql: string): Promise<string> {
  await bot.query('BEGIN');
  try {
    await bot.query(sql);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('42501'); // insufficient_privilege
    return (error as Error).message;
  } finally {
    await bot.query('ROLLBACK');
  }
  throw new Error(`the bot's role was allowed to run: ${sql}`);
}

describe("the bot's role", () => {
  it('is a plain member of breakglass_app: no superuser, no owner of anything in the audit trail', async () => {
    const { rows } = await bot.query(`
      SELECT current_user AS role, r.rolsuper, pg_has_role(current_user, 'breakglass_app', 'USAGE') AS app,
             pg_has_role(current_user, e.relowner, 'MEMBER') AS owns_events, pg_has_role(current_user, h.relowner, 'MEMBER') AS owns_head
        FROM pg_roles r, pg_class e, pg_class h
       WHERE r.rolname = current_user AND e.oid = '"AuditEvent"'::regclass AND h.oid = '"AuditChainHead"'::regclass`);
    expect(rows).toEqual([{ role: TEST_BOT_ROLE, rolsuper: false, app: true, owns_events: false, owns_head: false }]);
    const functions = await bot.query(`SELECT p.proname FROM pg_proc p WHERE p.proname LIKE 'audit%' AND pg_has_role(current_user, p.proowner, 'MEMBER')`);
    expect(functions.rows).toEqual([]);
  });

  it('may append events and read them: the chain grows and verifies', async () => {
    await bot.query(`INSERT INTO "AuditEvent" ("requestId", actor, action) VALUES ($1, 'U0BOT', 'GRANTED')`, [requestId]);
    expect((await bot.query('SELECT count(*)::int AS n FROM "AuditEvent"')).rows[0].n).toBe(7);
    expect(await seal(db)).toBe(1);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 7, problemCount: 0 });
  });

  it('may not TRUNCATE, UPDATE or DELETE audit events, nor touch the chain head', async () => {
    const before = await snapshot();
    const headBefore = await head();
    expect(await refusedToBot('TRUNCATE "AuditEvent"')).toMatch(/permission denied for table AuditEvent/);
    // Through the foreign key: truncating the requests would take their events along.
    expect(await refusedToBot('TRUNCATE "AccessRequest" CASCADE')).toMatch(/permission denied/);
    expect(await refusedToBot(`UPDATE "AuditEvent" SET actor = 'U0MALLORY' WHERE seq = 2`)).toMatch(/permission denied for table AuditEvent/);
    expect(await refusedToBot('DELETE FROM "AuditEvent" WHERE seq = 6')).toMatch(/permission denied for table AuditEvent/);
    // The sealer's flag (a transaction-local setting anyone can set) lets its own UPDATE through the append-only
    // trigger; the bot's role never gets that far.
    expect(await refusedToBot(`SELECT set_config('breakglass.audit_sealing', 'on', true); UPDATE "AuditEvent" SET seq = NULL WHERE seq = 6`)).toMatch(
      /permission denied for table AuditEvent/,
    );
    expect(await refusedToBot('DELETE FROM "AuditChainHead"')).toMatch(/permission denied for table AuditChainHead/);
    expect(await refusedToBot(`UPDATE "AuditChainHead" SET seq = 3`)).toMatch(/permission denied for table AuditChainHead/);
    expect(await refusedToBot(`INSERT INTO "AuditChainHead" (id, seq, hash) VALUES (2, 0, repeat('0', 64))`)).toMatch(/permission denied for table AuditChainHead/);
    expect(await snapshot()).toEqual(before);
    expect(await head()).toEqual(headBefore);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 6 });
  });

  it('may not switch the triggers off, drop them, or become the owner', async () => {
    const triggers = (await owner.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = '"AuditEvent"'::regclass AND NOT tgisinternal ORDER BY tgname`)).rows.map(
      (row) => row.tgname as string,
    );
    expect(triggers).toContain('audit_event_append_only');
    for (const trigger of triggers) {
      expect(await refusedToBot(`ALTER TABLE "AuditEvent" DISABLE TRIGGER ${trigger}`)).toMatch(/must be owner of table AuditEvent/);
      expect(await refusedToBot(`DROP TRIGGER ${trigger} ON "AuditEvent"`)).toMatch(/must be owner of (table|relation) AuditEvent/);
    }
    expect(await refusedToBot('ALTER TABLE "AuditEvent" DISABLE TRIGGER ALL')).toMatch(/must be owner/);
    // Triggers (and foreign keys) do not fire in replica mode: superusers only.
    expect(await refusedToBot('SET session_replication_role = replica')).toMatch(/permission denied to set parameter/);
    expect(await refusedToBot(`SET ROLE ${(await owner.query('SELECT current_user AS u')).rows[0].u}`)).toMatch(/permission denied to set role/);
    expect(await refusedToBot(`ALTER TABLE "AuditEvent" OWNER TO ${TEST_BOT_ROLE}`)).toMatch(/must be owner/);
    // Still on: an append-only violation is refused by the trigger even to the owner.
    await expect(owner.query(`UPDATE "AuditEvent" SET actor = 'U0MALLORY' WHERE seq = 1`)).rejects.toThrow(/append-only/);
  });

  it('may not re-create or drop the hash and chain functions', async () => {
    const functions = (
      await owner.query(`SELECT p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS definition
                           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = current_schema() AND p.proname LIKE 'audit%' ORDER BY 1`)
    ).rows as Array<{ signature: string; definition: string }>;
    expect(functions.map((f) => f.signature)).toContain('audit_event_hash(text,bigint,uuid,text,text,jsonb,timestamp without time zone)');
    for (const { signature, definition } of functions) {
      // The same definition, as an attacker would send a doctored one: refused before the body matters.
      await refusedToBot(definition);
      await refusedToBot(`DROP FUNCTION ${signature}`);
      await refusedToBot(`ALTER FUNCTION ${signature} OWNER TO ${TEST_BOT_ROLE}`);
    }
    // A function of its own with a hash function's name does not get in front of the real one either: the bot's
    // role may create nothing in the schema (PostgreSQL 15+; on older servers, REVOKE CREATE ON SCHEMA public FROM PUBLIC).
    expect(await refusedToBot(`CREATE FUNCTION audit_event_hash(TEXT) RETURNS TEXT LANGUAGE sql AS $$ SELECT 'x' $$`)).toMatch(/permission denied for schema/);
  });

  it('cannot choose its place in the chain: whatever chain fields it sends, the sealer assigns them', async () => {
    await bot.query(`INSERT INTO "AuditEvent" (actor, action, seq, "prevHash", hash) VALUES ('U0MALLORY', 'GRANTED', 100, $1, $1)`, ['a'.repeat(64)]);
    expect((await owner.query(`SELECT seq, hash FROM "AuditEvent" WHERE actor = 'U0MALLORY'`)).rows).toEqual([{ seq: null, hash: null }]);
    expect(await seal(db)).toBe(1);
    expect((await owner.query(`SELECT seq::int AS seq FROM "AuditEvent" WHERE actor = 'U0MALLORY'`)).rows).toEqual([{ seq: 7 }]);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 7, problemCount: 0 });
  });
});

describe('the owner (someone with MIGRATION_DATABASE_URL)', () => {
  /** As the owner: the append-only trigger switched off for `sql`, on again after it, in one transaction. */
  async function asOwnerWithTriggersOff(sql: string): Promise<void> {
    await owner.query('BEGIN');
    try {
      await owner.query('ALTER TABLE "AuditEvent" DISABLE TRIGGER USER');
      await owner.query(sql);
      await owner.query('ALTER TABLE "AuditEvent" ENABLE TRIGGER USER');
      await owner.query('COMMIT');
    } catch (error) {
      await owner.query('ROLLBACK');
      throw error;
    }
  }

  it('can UPDATE an event with the trigger disabled: verify reports it as edited', async () => {
    await asOwnerWithTriggersOff(`UPDATE "AuditEvent" SET actor = 'U0MALLORY' WHERE seq = 3`);
    const result = await verifyAuditChain(db);
    expect(result).toMatchObject({ ok: false, problemCount: 1 });
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'edited', seq: 3 })]);
  });

  it('can delete the head: verify reports it missing', async () => {
    await owner.query('DELETE FROM "AuditChainHead"');
    const result = await verifyAuditChain(db);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'head-mismatch', message: expect.stringContaining('missing') })]);
  });

  it('can delete the last events: verify reports the end of the chain removed', async () => {
    await asOwnerWithTriggersOff('DELETE FROM "AuditEvent" WHERE seq >= 5');
    const result = await verifyAuditChain(db);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'chain-end-removed', seq: 6 })]);
  });

  it('can delete the last events and move the head back: only a head kept outside the database shows it', async () => {
    const recorded = await head();
    await asOwnerWithTriggersOff(`DELETE FROM "AuditEvent" WHERE seq >= 5;
      UPDATE "AuditChainHead" SET seq = 4, hash = (SELECT hash FROM "AuditEvent" WHERE seq = 4)`);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 4 });
    const result = await verifyAuditChain(db, { knownHead: recorded! });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'known-head-mismatch' })]);
  });

  it('can re-create the hash function so that it vouches for an edited event', async () => {
    const event = (await owner.query(`SELECT "prevHash", seq::text, "requestId", actor, action, details::text, "createdAt", hash FROM "AuditEvent" WHERE seq = 2`)).rows[0];
    const original = (await owner.query(`SELECT pg_get_functiondef(to_regprocedure('audit_event_hash(text,bigint,uuid,text,text,jsonb,timestamp)')) AS definition`)).rows[0]
      .definition as string;
    await owner.query(`CREATE OR REPLACE FUNCTION audit_event_hash(prev_hash TEXT, seq BIGINT, request_id UUID, actor TEXT, action TEXT, details JSONB, created_at TIMESTAMP(3))
      RETURNS TEXT LANGUAGE sql STABLE AS $$ SELECT e.hash FROM "AuditEvent" e WHERE e.seq = $2 $$`);
    await asOwnerWithTriggersOff(`UPDATE "AuditEvent" SET actor = 'U0MALLORY' WHERE seq = 2`);
    try {
      // The hash docs/audit.md defines, recomputed outside the database from the edited row (an auditor with an
      // export does exactly this): it no longer matches the stored one.
      const recomputed = createHash('sha256')
        .update([event.prevHash, event.seq, event.requestId ?? '', 'U0MALLORY', event.action, event.details, event.createdAt.toISOString().slice(0, -1)].join('\n'))
        .digest('hex');
      expect(recomputed).not.toBe(event.hash);
      // verify recomputes the hash in Node (src/audit/hash.ts) and never asks the replaced function.
      const result = await verifyAuditChain(db);
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'edited', seq: 2 })]));
    } finally {
      await owner.query(original);
    }
  });
});
