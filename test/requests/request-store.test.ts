import { randomUUID } from 'node:crypto';
import { createPrisma, type AccessRequest, type Db } from '../../src/db/prisma';
import { InvalidTransitionError } from '../../src/domain/request-state';
import { createLogger } from '../../src/logger';
import { effectsFor, shown } from '../../src/requests/effect-plans';
import { queueEffects, RequestStore } from '../../src/requests/request-store';

/** The one writer of request status, on the real database: every change conditional, allowed by the transition
 * table, and committed together with its audit event and its effects, or not at all. */
let db: Db;
let store: RequestStore;
let wakes: number;

beforeAll(() => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
  store = new RequestStore({ db, logger: createLogger('silent'), wake: () => wakes++ });
});
afterAll(() => db.$disconnect());
beforeEach(() => {
  wakes = 0;
});

async function seed(status: AccessRequest['status'], overrides: Partial<AccessRequest> = {}): Promise<AccessRequest> {
  const channelId = `C0STORE${randomUUID().slice(0, 6).toUpperCase()}`;
  return db.accessRequest.create({
    data: {
      status,
      requesterId: `U0STORE${randomUUID().slice(0, 6).toUpperCase()}`,
      requesterLogin: `store_${randomUUID().slice(0, 8)}`,
      resourceId: 'store-db',
      roleId: 'read',
      grantName: 'store_read',
      durationSeconds: 600,
      reason: 'testing the store',
      channelId,
      requiredApprovals: 1,
      expiresAt: new Date(Date.now() - 1_000),
      ...overrides,
    },
  });
}

const effectsOf = (requestId: string) => db.effect.findMany({ where: { requestId }, orderBy: { id: 'asc' } });
const actionsOf = async (requestId: string) => (await db.auditEvent.findMany({ where: { requestId }, orderBy: { id: 'asc' } })).map((event) => event.action);

describe('RequestStore.move', () => {
  it('changes the status with its audit event and its effects in one transaction, then wakes the runners', async () => {
    const request = await seed('PENDING');
    const moved = await store.move({
      requestId: request.id,
      from: ['PENDING'],
      to: 'DENIED',
      data: { decidedBy: 'U0APPROVER' },
      actor: 'U0APPROVER',
      action: 'DENIED',
      effects: (r) => shown(r, { notice: 'denied' }),
    });
    expect(moved).toBe(true);
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id: request.id } })).toMatchObject({ status: 'DENIED', decidedBy: 'U0APPROVER' });
    expect(await actionsOf(request.id)).toEqual(['DENIED']);
    expect((await effectsOf(request.id)).map((effect) => [effect.pool, effect.lane, effect.kind])).toEqual([
      ['slack', `message:${request.id}`, 'request.refresh'],
      ['slack', `thread:${request.id}`, 'thread.notice'],
      ['home', 'home', 'home.changed'],
    ]);
    expect(wakes).toBe(1);
  });

  it('does nothing when another actor moved the request first', async () => {
    const request = await seed('DENIED');
    const moved = await store.move({
      requestId: request.id,
      from: ['PENDING'],
      to: 'TIMED_OUT',
      actor: 'system',
      action: 'TIMED_OUT',
      effects: (r) => shown(r, { notice: 'timed_out', requestTtlSeconds: 60 }),
    });
    expect(moved).toBe(false);
    expect(await actionsOf(request.id)).toEqual([]);
    expect(await effectsOf(request.id)).toEqual([]);
  });

  it('refuses a change the transition table does not allow, and writes nothing', async () => {
    const request = await seed('ACTIVE');
    await expect(store.move({ requestId: request.id, from: ['ACTIVE'], to: 'PENDING', actor: 'system', action: 'TIMED_OUT', effects: () => [] })).rejects.toThrow(
      InvalidTransitionError,
    );
    expect((await db.accessRequest.findUniqueOrThrow({ where: { id: request.id } })).status).toBe('ACTIVE');
    expect(await actionsOf(request.id)).toEqual([]);
  });

  it('rolls the status, the audit event and the effects back together when the transaction fails later', async () => {
    const request = await seed('ACTIVE');
    await expect(
      store.transaction(async (tx) => {
        await store.moveIn(tx, {
          requestId: request.id,
          from: ['ACTIVE'],
          to: 'REVOKING',
          actor: 'U0ADMIN',
          action: 'REVOKE_REQUESTED',
          effects: (r) => [effectsFor.scheduleExpiry(r, new Date())],
        });
        queueEffects(tx, [effectsFor.home(request)]);
        throw new Error('something after the change failed');
      }),
    ).rejects.toThrow('something after the change failed');
    expect((await db.accessRequest.findUniqueOrThrow({ where: { id: request.id } })).status).toBe('ACTIVE');
    expect(await actionsOf(request.id)).toEqual([]);
    expect(await effectsOf(request.id)).toEqual([]);
    expect(wakes).toBe(0);
  });

  it('commits two changes of one request in the order of their effects, so its lanes are delivered in order', async () => {
    const request = await seed('PENDING');
    let moved!: () => void;
    const hasMoved = new Promise<void>((resolve) => (moved = resolve));
    let finishFirst!: () => void;
    const held = new Promise<void>((resolve) => (finishFirst = resolve));
    // A change that stays open for a while after its update (its effects go in as its last statement).
    const first = store.transaction(
      async (tx) => {
        await store.moveIn(tx, {
          requestId: request.id,
          from: ['PENDING'],
          to: 'DENIED',
          actor: 'U0APPROVER',
          action: 'DENIED',
          effects: (r) => [effectsFor.thread(r, { notice: 'denied' })],
        });
        moved();
        await held;
      },
      { timeout: 30_000 },
    );
    await hasMoved;
    // Another writer of the same request's thread that changes no status (as an extension ask or a drift report).
    let secondDone = false;
    const second = store
      .transaction(async (tx) => queueEffects(tx, [effectsFor.thread(request, { notice: 'access_missing' })]))
      .then(() => {
        secondDone = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(secondDone).toBe(false); // it waits for the request's row lock, held by the first until its commit
    finishFirst();
    await Promise.all([first, second]);
    const lane = (await effectsOf(request.id)).filter((effect) => effect.lane === `thread:${request.id}`);
    expect(lane.map((effect) => (effect.payload as { notice: string }).notice)).toEqual(['denied', 'access_missing']);
  });

  it('queues effects only inside one of its transactions', async () => {
    const request = await seed('PENDING');
    await expect(db.$transaction(async (tx) => queueEffects(tx, [effectsFor.home(request)]))).rejects.toThrow(/RequestStore transaction/);
  });
});

describe('RequestStore.recordSweepIn', () => {
  it('records revoked requests as EXPIRED with their grants, audit events and summaries, and failed ones as REVOKING', async () => {
    const revoked = await seed('ACTIVE');
    await db.grant.create({
      data: { requestId: revoked.id, resourceId: revoked.resourceId, roleId: revoked.roleId, login: revoked.requesterLogin, expiresAt: revoked.expiresAt! },
    });
    const failed = await seed('ACTIVE');
    const endedAt = new Date();
    const moved = await store.transaction((tx) =>
      store.recordSweepIn(
        tx,
        [
          { request: revoked, revoked: true, keptOnTargetFor: null },
          { request: failed, revoked: false },
        ],
        endedAt,
      ),
    );
    expect(moved).toEqual(new Set([revoked.id, failed.id]));
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id: revoked.id }, include: { grant: true } })).toMatchObject({
      status: 'EXPIRED',
      endReason: 'expired',
      grant: { status: 'REVOKED' },
    });
    expect(await db.accessRequest.findUniqueOrThrow({ where: { id: failed.id } })).toMatchObject({ status: 'REVOKING', endReason: 'expired', endedAt: null });
    expect(await actionsOf(revoked.id)).toEqual(['EXPIRED']);
    expect(await actionsOf(failed.id)).toEqual(['EXPIRY_REACHED']);
    // The ended request's messages are in the outbox with the change (its channel's summary, and one row which
    // becomes the rest when delivered); the failed one tells nobody yet (its retries do).
    expect((await effectsOf(revoked.id)).map((effect) => [effect.kind, effect.lane, effect.payload])).toEqual([
      ['request.ended', 'ended', { grantFailed: false, summaryWritten: true }],
      ['channel.summary', `summary:${revoked.channelId}`, {}],
    ]);
    expect(await effectsOf(failed.id)).toEqual([]);
  });

  it('leaves a request alone that another actor ended meanwhile', async () => {
    const stale = await seed('ACTIVE');
    await db.accessRequest.update({ where: { id: stale.id }, data: { status: 'REVOKING' } });
    const moved = await store.transaction((tx) => store.recordSweepIn(tx, [{ request: stale, revoked: true, keptOnTargetFor: null }], new Date()));
    expect(moved.size).toBe(0);
    expect(await effectsOf(stale.id)).toEqual([]);
  });
});

describe('an ended request becomes its messages', () => {
  it('turns request.ended into the message update, the thread summary and the App Home refresh (the channel summary too when written before it was written with the change)', async () => {
    const { endedEffectHandlers } = await import('../../src/requests/effect-handlers');
    const expired = await seed('EXPIRED');
    const rolledBack = await seed('FAILED');
    const handler = endedEffectHandlers({ db, store })['request.ended'];
    const queuedBefore = await seed('EXPIRED');
    const row = (request: AccessRequest, payload: Record<string, unknown>) => ({
      id: 0n,
      pool: 'slack',
      lane: 'ended',
      kind: 'request.ended',
      requestId: request.id,
      payload,
      attempts: 0,
      createdAt: new Date(),
    });
    await handler.deliver([
      row(expired, { grantFailed: false, summaryWritten: true }),
      row(rolledBack, { grantFailed: true, summaryWritten: true }),
      row(queuedBefore, { grantFailed: false }),
    ]);
    const kinds = async (request: AccessRequest) => (await effectsOf(request.id)).map((effect) => `${effect.kind} ${effect.lane}`);
    expect(await kinds(expired)).toEqual([`request.refresh message:${expired.id}`, `thread.notice thread:${expired.id}`, 'home.changed home']);
    expect(await kinds(queuedBefore)).toEqual([
      `request.refresh message:${queuedBefore.id}`,
      `thread.notice thread:${queuedBefore.id}`,
      'home.changed home',
      `channel.summary summary:${queuedBefore.channelId}`,
    ]);
    // A grant that never took has no channel summary (nothing was used), only its thread's.
    expect(await kinds(rolledBack)).toEqual([`request.refresh message:${rolledBack.id}`, `thread.notice thread:${rolledBack.id}`, 'home.changed home']);
  });
});
