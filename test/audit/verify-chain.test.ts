import { createHash } from 'node:crypto';
import { createPrisma, type Db } from '../../src/db/prisma';
import { GENESIS_HASH, verifyAuditChain } from '../../src/audit/verify';
import { createOwnerDb, truncateAll } from '../support/databases';
import { addEvent, createRequest, seal, tamper } from './audit-fixtures';

/** The bot's role, which writes events as the bot does; `owner` plays whoever has the owner's password. */
let db: Db;
let owner: Db;

beforeAll(() => {
  // Room for the concurrent-insert test's parallel transactions.
  db = createPrisma(process.env.TEST_DATABASE_URL!, 50);
  owner = createOwnerDb();
});

beforeEach(async () => {
  await truncateAll();
});

afterAll(async () => {
  await db.$disconnect();
  await owner.$disconnect();
});

/** Ten sealed events, five of them on one request; returns that request's BG-number. */
async function tenEvents(): Promise<number> {
  const request = await createRequest(db);
  for (let i = 1; i <= 10; i += 1) {
    await addEvent(db, { requestId: i % 2 === 0 ? request.id : null, actor: `U0ACTOR${i}`, action: 'APPROVAL_RECORDED', details: { n: i } });
  }
  await seal(db);
  return request.number;
}

describe('the database keeps audit events append-only', () => {
  // The bot's role may not even try (test/audit/attacks.test.ts); the trigger holds for the owner too.
  it("refuses UPDATE and DELETE, through Prisma and in raw SQL, even to the tables' owner", async () => {
    const event = await addEvent(db, { actor: 'U0ALICE' });
    await seal(db);
    await expect(owner.auditEvent.update({ where: { id: event.id }, data: { actor: 'U0MALLORY' } })).rejects.toThrow(/append-only/);
    await expect(owner.auditEvent.delete({ where: { id: event.id } })).rejects.toThrow(/append-only/);
    await expect(owner.$executeRawUnsafe('UPDATE "AuditEvent" SET hash = NULL')).rejects.toThrow(/append-only: UPDATE/);
    await expect(owner.$executeRawUnsafe('DELETE FROM "AuditEvent"')).rejects.toThrow(/append-only: DELETE/);
    expect(await db.auditEvent.findUniqueOrThrow({ where: { id: event.id } })).toMatchObject({ actor: 'U0ALICE', seq: 1n });
  });

  it('inserts events unsealed, whatever the writer sends, and refuses every other UPDATE, also of unsealed rows', async () => {
    const forged = await db.auditEvent.create({ data: { actor: 'U0MALLORY', action: 'GRANTED', seq: 1n, prevHash: GENESIS_HASH, hash: 'f'.repeat(64) } });
    expect(forged).toMatchObject({ seq: null, prevHash: null, hash: null });
    // As the owner (the bot's role may not UPDATE at all: test/audit/attacks.test.ts), the trigger refuses it.
    await expect(owner.$executeRawUnsafe(`UPDATE "AuditEvent" SET actor = 'U0EVE' WHERE id = ${forged.id}`)).rejects.toThrow(/append-only: UPDATE/);
    // The flag audit_seal sets does not let anyone else rewrite a row: the content must stay as it is.
    await expect(
      owner.$transaction([
        owner.$executeRawUnsafe(`SELECT set_config('breakglass.audit_sealing', 'on', true)`),
        owner.$executeRawUnsafe(`UPDATE "AuditEvent" SET actor = 'U0EVE', seq = 1, "prevHash" = repeat('0', 64), hash = repeat('e', 64) WHERE id = ${forged.id}`),
      ]),
    ).rejects.toThrow(/append-only: UPDATE/);
    await seal(db);
    expect(await db.auditEvent.findUniqueOrThrow({ where: { id: forged.id } })).toMatchObject({ actor: 'U0MALLORY', seq: 1n, prevHash: GENESIS_HASH });
  });

  it('seals in order: seq from 1, prevHash = the previous hash, the hash recomputable from the fields', async () => {
    const inserted = [await addEvent(db, { actor: 'U0ALICE', action: 'REQUESTED', details: { reason: 'x' } }), await addEvent(db, { actor: 'system', action: 'GRANTED' })];
    expect(inserted.map((event) => event.seq)).toEqual([null, null]);
    expect(await seal(db)).toBe(2);
    const [first, second] = await db.auditEvent.findMany({ orderBy: { id: 'asc' } });
    expect(first).toMatchObject({ seq: 1n, prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2n, prevHash: first.hash });
    // The definition docs/audit.md gives, recomputed outside the database.
    const expected = createHash('sha256')
      .update([GENESIS_HASH, '1', '', 'U0ALICE', 'REQUESTED', '{"reason": "x"}', first.createdAt.toISOString().slice(0, -1)].join('\n'))
      .digest('hex');
    expect(first.hash).toBe(expected);
    expect(await db.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).toEqual({ id: 1, seq: 2n, hash: second.hash });
  });

  it('leaves a gapless, valid chain after 200 inserts from parallel transactions', async () => {
    const request = await createRequest(db);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        db.$transaction(
          async (tx) => {
            // Some transactions do other work after their insert, so commits interleave with the chain lock held.
            await addEvent(tx, { requestId: i % 3 === 0 ? request.id : null, actor: `U0PARALLEL${i}`, details: { i } });
            if (i % 4 === 0) await tx.accessRequest.findMany({ take: 1 });
          },
          { maxWait: 60_000, timeout: 60_000 },
        ),
      ),
    );
    await seal(db);
    const seqs = (await db.auditEvent.findMany({ select: { seq: true }, orderBy: { seq: 'asc' } })).map((event) => Number(event.seq));
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const result = await verifyAuditChain(db, { batchSize: 37 });
    expect(result).toMatchObject({ ok: true, eventsChecked: 200, problemCount: 0, problems: [], head: { seq: 200 } });
  });

  // The head row is written once per statement (the running head is carried in a transaction-local setting), so
  // what matters is that multi-row statements, several statements per transaction and rolled-back work all leave
  // the head exactly at the last committed event.
  it('keeps the head on the last committed event across multi-row statements, savepoints and rollbacks', async () => {
    const request = await createRequest(db);
    const insertMany = (client: Pick<Db, '$executeRawUnsafe'>, count: number, action: string) =>
      client.$executeRawUnsafe(
        `INSERT INTO "AuditEvent" ("requestId", actor, action, details) SELECT $1::uuid, 'system', $2, jsonb_build_object('n', n) FROM generate_series(1, ${count}) AS n`,
        request.id,
        action,
      );
    await insertMany(db, 500, 'BULK');
    await db.$transaction(async (tx) => {
      await insertMany(tx, 3, 'FIRST_STATEMENT');
      await addEvent(tx, { actor: 'U0BETWEEN' });
      await insertMany(tx, 4, 'THIRD_STATEMENT');
    });
    await expect(
      db.$transaction(async (tx) => {
        await insertMany(tx, 5, 'ROLLED_BACK');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    // A savepoint rolled back after its events were chained: the events after it must link to the ones before.
    await db.$transaction(async (tx) => {
      await insertMany(tx, 2, 'KEPT');
      await tx.$executeRawUnsafe('SAVEPOINT undo_me');
      await insertMany(tx, 6, 'UNDONE');
      await tx.$executeRawUnsafe('ROLLBACK TO SAVEPOINT undo_me');
      await insertMany(tx, 2, 'KEPT_AFTER');
    });
    await seal(db);

    const events = await db.auditEvent.findMany({ orderBy: { seq: 'asc' }, select: { seq: true, hash: true, action: true } });
    expect(events).toHaveLength(500 + 3 + 1 + 4 + 2 + 2);
    expect(events.map((event) => Number(event.seq))).toEqual(events.map((_, i) => i + 1));
    expect(events.some((event) => event.action === 'ROLLED_BACK' || event.action === 'UNDONE')).toBe(false);
    const last = events[events.length - 1];
    expect(await db.auditChainHead.findUniqueOrThrow({ where: { id: 1 } })).toEqual({ id: 1, seq: last.seq, hash: last.hash });
    expect(await verifyAuditChain(db, { batchSize: 100 })).toMatchObject({ ok: true, eventsChecked: events.length, problemCount: 0 });
  });
});

describe('verifyAuditChain', () => {
  it('passes an intact chain, across batch boundaries, and an empty one', async () => {
    expect(await verifyAuditChain(db)).toEqual({ ok: true, eventsChecked: 0, head: null, problems: [], problemCount: 0, pending: 0 });
    await tenEvents();
    const head = await db.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    for (const batchSize of [1, 3, 10, 1000]) {
      expect(await verifyAuditChain(db, { batchSize })).toEqual({ ok: true, eventsChecked: 10, head: { seq: 10, hash: head.hash }, problems: [], problemCount: 0, pending: 0 });
    }
  });

  it('finds an edited row and says which one, with its request', async () => {
    const number = await tenEvents();
    await tamper(owner, `UPDATE "AuditEvent" SET actor = 'U0MALLORY' WHERE seq = 4`);
    const event = await db.auditEvent.findUniqueOrThrow({ where: { seq: 4 } });
    const result = await verifyAuditChain(db, { batchSize: 3 });
    expect(result.ok).toBe(false);
    expect(result.problemCount).toBe(1);
    expect(result.problems).toEqual([
      { kind: 'edited', seq: 4, eventId: String(event.id), request: `BG-${number}`, message: expect.stringMatching(/^seq 4 \(event id \d+, BG-\d+\) was edited/) },
    ]);
  });

  it('finds a row rewritten with a recomputed hash: the next row no longer links to it', async () => {
    await tenEvents();
    await tamper(
      owner,
      `UPDATE "AuditEvent" SET details = '{"n": 999}', hash = audit_event_hash("prevHash", seq, "requestId", actor, action, '{"n": 999}'::jsonb, "createdAt") WHERE seq = 6`,
    );
    const result = await verifyAuditChain(db);
    expect(result.problems.map(({ kind, seq }) => ({ kind, seq }))).toEqual([{ kind: 'broken-link', seq: 7 }]);
    expect(result.problems[0].message).toMatch(/does not link to seq 6: seq 6 was replaced/);
  });

  it('finds a deleted middle row and says between which events', async () => {
    await tenEvents();
    await tamper(owner, 'DELETE FROM "AuditEvent" WHERE seq IN (5, 6)');
    const result = await verifyAuditChain(db, { batchSize: 4 });
    expect(result).toMatchObject({ ok: false, eventsChecked: 8, problemCount: 1 });
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'missing-events', seq: 7, message: '2 events (seq 5–6) are missing between seq 4 and 7: deleted' })]);
  });

  it('finds deleted first rows', async () => {
    await tenEvents();
    await tamper(owner, 'DELETE FROM "AuditEvent" WHERE seq = 1');
    const result = await verifyAuditChain(db);
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'missing-events', seq: 2, message: 'event seq 1 is missing before seq 2 (the start of the chain): deleted' }),
    ]);
  });

  it('finds deleted last rows through the chain head', async () => {
    await tenEvents();
    await tamper(owner, 'DELETE FROM "AuditEvent" WHERE seq >= 8');
    const result = await verifyAuditChain(db);
    expect(result).toMatchObject({ ok: false, eventsChecked: 7, problemCount: 1 });
    expect(result.problems).toEqual([
      expect.objectContaining({
        kind: 'chain-end-removed',
        seq: 10,
        message: expect.stringContaining('3 events (seq 8–10) are missing after seq 7 (the head says the chain ends at seq 10)'),
      }),
    ]);
  });

  it('finds every event deleted', async () => {
    await tenEvents();
    await tamper(owner, 'DELETE FROM "AuditEvent"');
    const result = await verifyAuditChain(db);
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'chain-end-removed', message: expect.stringContaining('10 events (seq 1–10) are missing and no event is left') }),
    ]);
  });

  it('finds a head that does not match the last event, and a missing head', async () => {
    await tenEvents();
    await owner.$executeRawUnsafe(`UPDATE "AuditChainHead" SET hash = repeat('f', 64)`);
    expect((await verifyAuditChain(db)).problems).toEqual([expect.objectContaining({ kind: 'head-mismatch', seq: 10 })]);
    await owner.$executeRawUnsafe('DELETE FROM "AuditChainHead"');
    expect((await verifyAuditChain(db)).problems).toEqual([expect.objectContaining({ kind: 'head-mismatch', seq: null, message: expect.stringContaining('missing') })]);
  });

  it('finds rows whose chain fields were cleared, and rows left unsealed past the bound (younger ones are pending)', async () => {
    const number = await tenEvents();
    const request = await db.accessRequest.findUniqueOrThrow({ where: { number } });
    await tamper(owner, 'UPDATE "AuditEvent" SET hash = NULL WHERE seq = 3');
    // One event the sealer never sealed (its time is a minute old), one just written.
    await addEvent(db, { requestId: request.id, actor: 'U0STUCK', createdAt: new Date(Date.now() - 60_000) });
    await addEvent(db, { actor: 'U0FRESH' });
    const result = await verifyAuditChain(db, { sealBoundMs: 5_000 });
    expect(result.problems.map(({ kind, seq, request: bg }) => ({ kind, seq, request: bg }))).toEqual([
      { kind: 'unchained', seq: 3, request: null },
      // Seq 4's prevHash still names the hash seq 3 had.
      { kind: 'broken-link', seq: 4, request: `BG-${number}` },
      { kind: 'unsealed', seq: null, request: `BG-${number}` },
    ]);
    expect(result.problems[2].message).toMatch(/^event id \d+ \(BG-\d+\) has waited 1 min to be sealed \(no seq, no hash\), longer than the bound of 5\.0 s/);
    expect(result.pending).toBe(1);
    // Once sealed, neither is a problem any more (the chain after seq 10 links on).
    await seal(db);
    expect((await verifyAuditChain(db, { sealBoundMs: 5_000 })).problems.map((problem) => problem.kind)).toEqual(['unchained', 'broken-link']);
  });

  it('lists a bounded number of problems and counts them all', async () => {
    await tenEvents();
    await tamper(owner, `UPDATE "AuditEvent" SET action = 'DENIED'`);
    const result = await verifyAuditChain(db, { maxProblems: 3, batchSize: 4 });
    expect(result.problemCount).toBe(10);
    expect(result.problems.map((problem) => problem.seq)).toEqual([1, 2, 3]);
  });
});
