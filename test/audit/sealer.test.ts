import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Client } from 'pg';
import { auditExportRows } from '../../src/audit/export';
import { auditEventHash } from '../../src/audit/hash';
import { AuditSealer, parsePublishedHeads, publishedHeadText, publishHead, sealAuditEvents } from '../../src/audit/sealer';
import { verifyAuditChain } from '../../src/audit/verify';
import { createPrisma, type Db } from '../../src/db/prisma';
import { createOwnerDb, truncateAll } from '../support/databases';
import { waitFor } from '../support/wait';
import { addEvent, createRequest, seal, tamper } from './audit-fixtures';

/** The bot's role; `owner` plays whoever has the owner's password (MIGRATION_DATABASE_URL). */
let db: Db;
let owner: Db;

beforeAll(() => {
  db = createPrisma(process.env.TEST_DATABASE_URL!, 60);
  owner = createOwnerDb();
});

beforeEach(async () => {
  await truncateAll();
});

afterAll(async () => {
  await db.$disconnect();
  await owner.$disconnect();
});

const pgClient = async (url = process.env.TEST_DATABASE_URL) => {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
};

const chain = async () =>
  (await db.auditEvent.findMany({ where: { seq: { not: null } }, orderBy: { seq: 'asc' }, select: { seq: true, actor: true } })).map((event) => [Number(event.seq), event.actor]);

describe('the sealer', () => {
  it('gives the events of many concurrent writers a gapless chain while it seals alongside them, and verify accepts it', async () => {
    const request = await createRequest(db);
    let writing = true;
    const sealing = (async () => {
      let sealed = 0;
      while (writing) {
        sealed += (await sealAuditEvents(db, 7)).sealed;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return sealed;
    })();
    // Writers take no chain lock: 300 transactions, some doing other work after their insert, commit in any order.
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        db.$transaction(
          async (tx) => {
            await addEvent(tx, { requestId: i % 3 === 0 ? request.id : null, actor: `U0WRITER${i}`, details: { i } });
            if (i % 4 === 0) await tx.accessRequest.findMany({ take: 1 });
          },
          { maxWait: 60_000, timeout: 60_000 },
        ),
      ),
    );
    writing = false;
    const sealedAlongside = await sealing;
    expect(sealedAlongside).toBeGreaterThan(0);
    await seal(db);
    const seqs = (await chain()).map(([seq]) => seq);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(await verifyAuditChain(db, { batchSize: 41 })).toMatchObject({ ok: true, eventsChecked: 300, problemCount: 0, pending: 0 });
  });

  it('seals in commit order: an event of a transaction open for long is sealed after the ones committed before it', async () => {
    const long = await pgClient();
    try {
      await long.query('BEGIN');
      await long.query(`INSERT INTO "AuditEvent" (actor, action) VALUES ('U0LONG', 'REQUESTED')`); // the lowest id
      await addEvent(db, { actor: 'U0FIRST' });
      await addEvent(db, { actor: 'U0SECOND' });
      expect((await sealAuditEvents(db)).sealed).toBe(2);
      expect(await chain()).toEqual([
        [1, 'U0FIRST'],
        [2, 'U0SECOND'],
      ]);
      await long.query('COMMIT');
    } finally {
      await long.end();
    }
    await addEvent(db, { actor: 'U0THIRD' });
    expect((await sealAuditEvents(db)).sealed).toBe(2);
    expect(await chain()).toEqual([
      [1, 'U0FIRST'],
      [2, 'U0SECOND'],
      [3, 'U0LONG'],
      [4, 'U0THIRD'],
    ]);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 4, pending: 0 });
  });

  it('one seals at a time; a sealer that dies mid-way leaves nothing half-sealed', async () => {
    for (let i = 0; i < 5; i += 1) await addEvent(db, { actor: `U0EVENT${i}` });
    const dying = await pgClient();
    dying.on('error', () => undefined);
    await dying.query('BEGIN');
    const inside = await dying.query('SELECT sealed, busy FROM audit_seal(3)');
    expect(inside.rows).toEqual([{ sealed: 3, busy: false }]);
    // While it holds the head, another sealer does nothing.
    expect(await sealAuditEvents(db)).toMatchObject({ sealed: 0, busy: true });
    // Killed before its commit: its work is rolled back whole.
    const pid = (await dying.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await db.$queryRawUnsafe(`SELECT pg_terminate_backend(${pid})`);
    await dying.end().catch(() => undefined);
    await waitFor(async () => (await sealAuditEvents(db)).busy === false, 'the dead sealer to release the head');
    expect(await chain()).toEqual([0, 1, 2, 3, 4].map((i) => [i + 1, `U0EVENT${i}`]));
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 5 });
  });

  it('computes in Node, from the exported rows, exactly the hash the database sealed, whatever the content', async () => {
    const request = await createRequest(db);
    const awkward: Array<Record<string, unknown>> = [
      {},
      { reason: 'ünïcödé — “quotes”, emoji 🔥, tab\t, newline\n, backslash \\ and "double quotes"' },
      { nested: { b: [1, 2.5, -0.001, 1e21, 12345678901234567000], a: null, c: true }, longer_key: 'x', k: 'y' },
      { html: '<script>alert(1)</script> & <@U123> *bold*', amount: 1.1 },
    ];
    for (const [i, details] of awkward.entries()) {
      await addEvent(db, {
        requestId: i % 2 ? request.id : null,
        actor: i === 3 ? '=cmd' : `U0ACTOR${i}`,
        action: 'REQUESTED',
        details,
        createdAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, i * 7)),
      });
    }
    // Written in SQL: numbers JavaScript could not hold, kept by jsonb as written.
    await db.$executeRawUnsafe(`INSERT INTO "AuditEvent" (actor, action, details) VALUES ('system', 'X', '{"n": 1.50, "big": 123456789012345678901234567890, "z": {}}')`);
    await seal(db);
    const rows = [];
    for await (const batch of auditExportRows(db, { since: new Date(0), until: null, requestNumber: null, actor: null })) rows.push(...batch);
    expect(rows).toHaveLength(awkward.length + 1);
    for (const row of rows) expect(auditEventHash({ ...row, prevHash: row.prevHash! })).toBe(row.hash);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: awkward.length + 1 });
  });

  it('keeps verify honest when the database’s hash function is replaced: the hashes are recomputed in Node', async () => {
    for (let i = 0; i < 4; i += 1) await addEvent(db, { actor: `U0EVENT${i}`, details: { i } });
    await seal(db);
    const original = (await db.$queryRawUnsafe<Array<{ def: string }>>(`SELECT pg_get_functiondef('audit_event_hash'::regproc) AS def`))[0].def;
    try {
      // An attacker replaces the function, then edits seq 2 and stores the hash the replaced function gives.
      await owner.$executeRawUnsafe(
        `CREATE OR REPLACE FUNCTION audit_event_hash(prev_hash TEXT, seq BIGINT, request_id UUID, actor TEXT, action TEXT, details JSONB, created_at TIMESTAMP(3)) RETURNS TEXT LANGUAGE SQL IMMUTABLE AS $$ SELECT repeat('a', 64) $$`,
      );
      await tamper(
        owner,
        `UPDATE "AuditEvent" SET actor = 'U0MALLORY', hash = audit_event_hash("prevHash", seq, "requestId", 'U0MALLORY', action, details, "createdAt") WHERE seq = 2`,
      );
      const result = await verifyAuditChain(db);
      expect(result.problems.map(({ kind, seq }) => ({ kind, seq }))).toEqual([
        { kind: 'edited', seq: 2 },
        { kind: 'broken-link', seq: 3 },
      ]);
    } finally {
      await owner.$executeRawUnsafe(original);
    }
  });

  it('detects a whole-chain rewrite after a published head, with the head as posted, as a file line, or as seq:hash', async () => {
    const request = await createRequest(db);
    for (let i = 0; i < 6; i += 1) await addEvent(db, { requestId: request.id, actor: `U0EVENT${i}`, details: { i } });
    await seal(db);
    const published = await publishHead(db, { securityChannel: 'C0SECURITY', headFile: '/tmp/unused' }, new Date('2026-12-05T06:00:00Z'));
    expect(published).toMatchObject({ seq: 6 });
    // Published once: the same head is not published again.
    expect(await publishHead(db, { securityChannel: 'C0SECURITY', headFile: null })).toBeNull();
    const effects = await db.effect.findMany({ where: { kind: 'audit.head' }, orderBy: { id: 'asc' } });
    expect(effects.map((effect) => effect.payload)).toEqual([
      { seq: 6, hash: published!.hash, at: '2026-12-05T06:00:00.000Z', target: 'slack' },
      { seq: 6, hash: published!.hash, at: '2026-12-05T06:00:00.000Z', target: 'file' },
    ]);
    const posted = publishedHeadText(published!, new Date('2026-12-05T06:00:00Z'));
    expect(posted).toBe(`Audit chain head: seq 6, sha256 ${published!.hash}, at 2026-12-05T06:00:00.000Z`);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'bg-heads-')), 'heads.jsonl');
    writeFileSync(file, `${JSON.stringify({ seq: 6, hash: published!.hash, at: '2026-12-05T06:00:00.000Z' })}\n`);
    expect(parsePublishedHeads(posted)).toEqual([published]);
    expect(parsePublishedHeads(readFileSync(file, 'utf8'))).toEqual([published]);
    expect(parsePublishedHeads(`${published!.seq}:${published!.hash}`)).toEqual([published]);

    // More events after the published head, then the owner rewrites seq 3 and everything after it, consistently
    // (with the real hash definition, triggers off), head included.
    for (let i = 6; i < 9; i += 1) await addEvent(db, { requestId: request.id, actor: `U0EVENT${i}` });
    await seal(db);
    // On a schedule, a head published a moment ago (by any process) is enough; at shutdown, the new head goes out.
    expect(await publishHead(db, { securityChannel: 'C0SECURITY', headFile: null }, new Date(), { notWithinMs: 60_000 })).toBeNull();
    expect(await publishHead(db, { securityChannel: 'C0SECURITY', headFile: null })).toMatchObject({ seq: 9 });
    await tamper(
      owner,
      `UPDATE "AuditEvent" SET actor = 'U0MALLORY' WHERE seq = 3`,
      `DO $$ DECLARE previous TEXT; e RECORD; BEGIN
         SELECT hash INTO previous FROM "AuditEvent" WHERE seq = 2;
         FOR e IN SELECT * FROM "AuditEvent" WHERE seq >= 3 ORDER BY seq LOOP
           UPDATE "AuditEvent" SET "prevHash" = previous, hash = audit_event_hash(previous, e.seq, e."requestId", e.actor, e.action, e.details, e."createdAt") WHERE id = e.id RETURNING hash INTO previous;
         END LOOP;
         UPDATE "AuditChainHead" SET hash = previous;
       END $$`,
    );
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 9 });
    for (const knownHeads of [parsePublishedHeads(posted), parsePublishedHeads(readFileSync(file, 'utf8'))]) {
      const result = await verifyAuditChain(db, { knownHeads });
      expect(result.problems).toEqual([expect.objectContaining({ kind: 'known-head-mismatch', seq: 6 })]);
    }
  });

  it('runs as a loop: seals soon after a wake, alerts once an event waits past the bound, publishes the head when it stops', async () => {
    const logs: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    const sealer = new AuditSealer({ db, logger, boundMs: 1_000, targets: { securityChannel: 'C0SECURITY', headFile: null }, publishEveryMs: null, everyMs: 50 });
    sealer.start();
    try {
      await addEvent(db, { actor: 'U0WOKEN' });
      sealer.wake();
      await waitFor(async () => (await db.auditEvent.count({ where: { seq: null } })) === 0, 'the loop to seal the event');

      // Another process holds the head (it seals, or hangs): an event a minute old stays unsealed past the bound.
      const holder = await pgClient(process.env.TEST_OWNER_DATABASE_URL);
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT * FROM "AuditChainHead" FOR UPDATE');
        await addEvent(db, { actor: 'U0STUCK', createdAt: new Date(Date.now() - 60_000) });
        const alert = await waitFor(() => db.effect.findFirst({ where: { kind: 'audit.seal_late' } }), 'the late-sealing alert');
        expect(alert.payload).toMatchObject({ boundMs: 1_000 });
        expect(logs.join('\n')).toContain('audit events wait to be sealed longer than AUDIT_SEAL_BOUND');
        // Rate-limited: one alert, however many ticks see it late.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(await db.effect.count({ where: { kind: 'audit.seal_late' } })).toBe(1);
        expect((await verifyAuditChain(db, { sealBoundMs: 1_000 })).problems).toEqual([expect.objectContaining({ kind: 'unsealed' })]);
        await holder.query('ROLLBACK');
      } finally {
        await holder.end();
      }
      await waitFor(async () => (await db.auditEvent.count({ where: { seq: null } })) === 0, 'the loop to seal the stuck event');
      await addEvent(db, { actor: 'U0LAST' });
    } finally {
      await sealer.stop();
    }
    // Stopping sealed the last event and published the head it ended on.
    const head = await db.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    expect(Number(head.seq)).toBe(3);
    const published = await db.effect.findMany({ where: { kind: 'audit.head' } });
    expect(published.map((effect) => effect.payload)).toEqual([expect.objectContaining({ seq: 3, hash: head.hash, target: 'slack' })]);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, eventsChecked: 3 });
  });
});
