import { createPrisma, type Db } from '../../src/db/prisma';
import { GiveUp, RetryLater } from '../../src/effects/effect-errors';
import { EffectRunner } from '../../src/effects/effect-runner';
import { createLogger } from '../../src/logger';
import { pruneSettledEffects, writeEffects, type NewEffect } from '../../src/effects/outbox';
import { truncateAll } from '../support/databases';
import { waitFor } from '../support/wait';
import { deferred, idsOfLane, pause, RunnerKit, undelivered } from './effect-fixtures';

let db: Db;
let kit: RunnerKit;

beforeAll(() => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
});

beforeEach(async () => {
  await truncateAll();
  kit = new RunnerKit(db);
});

afterEach(async () => {
  await kit.stopAll();
});

afterAll(async () => {
  await db.$disconnect();
});

const slack = (lane: string, kind = 'post', payload: Record<string, unknown> = {}): NewEffect => ({ pool: 'slack', lane, kind, payload });

/** `lanes` lanes of `perLane` effects each, written interleaved (lane 0's first, lane 1's first, …). */
function interleaved(lanes: number, perLane: number, kind = 'post'): NewEffect[] {
  const effects: NewEffect[] = [];
  for (let n = 0; n < perLane; n += 1) for (let lane = 0; lane < lanes; lane += 1) effects.push(slack(`lane:${lane}`, kind, { n }));
  return effects;
}

function expectEachOnce(ids: bigint[]): void {
  expect(new Set(ids.map(String)).size).toBe(ids.length);
}

describe('writing and delivering', () => {
  it('delivers committed effects exactly once, with their fields, and never those of a rolled-back transaction', async () => {
    await expect(
      db.$transaction(async (tx) => {
        await writeEffects(tx, [slack('lost', 'post', { never: true })]);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    const requestId = '3f0b8f0e-8f5e-4c57-9a53-0d1c2a000001';
    await kit.write([
      { pool: 'slack', lane: 'thread:a', kind: 'post', requestId, payload: { text: 'hello' } },
      slack('thread:a', 'post', { text: 'again' }),
      slack('thread:b'),
      { pool: 'provider', lane: 'grant:a', kind: 'grant' }, // another pool: not this runner's
    ]);
    const received: unknown[] = [];
    await kit.start('p1', {
      post: kit.recording('p1', (effects) => void received.push(...effects)),
    });
    await waitFor(async () => (await db.effect.count({ where: { pool: 'slack', deliveredAt: null } })) === 0, 'slack effects delivered');
    // A later effect goes through too, so the runner has polled well past the first ones.
    await kit.write([slack('thread:c')]);
    await waitFor(() => kit.deliveredIds().length === 4, 'the later effect delivered');
    await pause(300);

    expect(kit.deliveredIds()).toHaveLength(4);
    expectEachOnce(kit.deliveredIds());
    expect(kit.deliveries.some((d) => d.lane === 'lost' || d.lane === 'grant:a')).toBe(false);
    // The rolled-back insert used up id 1 (sequences do not roll back).
    expect(received.find((e) => (e as { id: bigint }).id === 2n)).toEqual({
      id: 2n,
      pool: 'slack',
      lane: 'thread:a',
      kind: 'post',
      requestId,
      payload: { text: 'hello' },
      attempts: 0,
      createdAt: expect.any(Date),
    });
    const rows = await db.effect.findMany({ where: { pool: 'slack' } });
    expect(rows.every((row) => row.deliveredAt && !row.leasedBy && !row.gaveUp && row.attempts === 0)).toBe(true);
    expect(await db.effect.count({ where: { pool: 'provider', deliveredAt: null } })).toBe(1);
  });

  it('keeps each lane in id order with many lanes and concurrency above 1', async () => {
    await kit.write(interleaved(20, 10));
    const inDelivery = new Set<string>();
    let overlapped = false;
    await kit.start(
      'p1',
      {
        post: {
          deliver: async (effects) => {
            const lane = effects[0].lane;
            if (inDelivery.has(lane)) overlapped = true;
            inDelivery.add(lane);
            await pause(Math.random() * 5);
            inDelivery.delete(lane);
            kit.deliveries.push({ processId: 'p1', kind: 'post', lane, ids: effects.map((e) => e.id), at: Date.now() });
          },
        },
      },
      { concurrency: 5 },
    );
    await waitFor(() => kit.deliveredIds().length === 200, 'all 200 effects delivered', 20_000);
    expectEachOnce(kit.deliveredIds());
    expect(overlapped).toBe(false);
    for (let lane = 0; lane < 20; lane += 1) expect(kit.laneIds(`lane:${lane}`)).toEqual(await idsOfLane(db, `lane:${lane}`));
  });

  it('delivers other lanes while one lane is slow', async () => {
    await kit.write([slack('slow'), slack('slow'), ...interleaved(6, 3)]);
    const slow = deferred();
    await kit.start(
      'p1',
      {
        post: kit.recording('p1', async (effects) => {
          if (effects[0].lane === 'slow') await slow.promise;
        }),
      },
      { concurrency: 2 },
    );
    // Two slots, one held by the slow lane: the 18 others go through the other slot meanwhile.
    await waitFor(() => kit.deliveries.filter((d) => d.lane !== 'slow').length === 18, 'the other lanes delivered');
    expect(kit.laneIds('slow')).toEqual([]);
    slow.resolve();
    await waitFor(() => kit.laneIds('slow').length === 2, 'the slow lane delivered');
    expect(kit.laneIds('slow')).toEqual(await idsOfLane(db, 'slow'));
  });
});

describe('giving way', () => {
  it('claims nothing while its ready gate is closed, then delivers everything', async () => {
    await kit.write([slack('A', 'post'), slack('B', 'post')]);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let claims = 0;
    await kit.start('p1', { post: kit.recording('p1') }, { ready: () => gate, onClaimed: () => claims++ });
    await pause(400); // several polls
    expect(claims).toBe(0);
    expect(kit.deliveredIds()).toEqual([]);
    expect(await undelivered(db)).toBe(2);
    open();
    await waitFor(async () => (await undelivered(db)) === 0, 'both delivered once the gate opened');
    expect(kit.deliveredIds()).toHaveLength(2);
  });
});

describe('failures', () => {
  it('RetryLater holds only its lane, and the effect is retried no sooner than afterMs', async () => {
    await kit.write([slack('limited'), slack('limited'), slack('free'), slack('free'), slack('once')]);
    const attempts: Record<string, number[]> = {};
    const onFailed = jest.fn();
    await kit.start(
      'p1',
      {
        post: kit.recording('p1', (effects) => {
          const { lane } = effects[0];
          attempts[lane] ??= [];
          attempts[lane].push(Date.now());
          if (lane === 'limited') throw new RetryLater(60_000, 'ratelimited');
          if (lane === 'once' && attempts[lane].length === 1) throw new RetryLater(400, 'ratelimited briefly');
        }),
      },
      { onFailed },
    );
    await waitFor(() => kit.laneIds('free').length === 2 && kit.laneIds('once').length === 1, 'the other lanes delivered');
    const once = attempts.once;
    expect(once).toHaveLength(2);
    expect(once[1] - once[0]).toBeGreaterThanOrEqual(390); // the database's clock, read after the first attempt threw
    expect(kit.laneIds('limited')).toEqual([]);
    expect(attempts.limited).toHaveLength(1);
    const [head, second] = await db.effect.findMany({ where: { lane: 'limited' }, orderBy: { id: 'asc' } });
    expect(head).toMatchObject({ attempts: 1, lastError: 'ratelimited', leasedBy: null, deliveredAt: null });
    expect(head.runAfter.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(second).toMatchObject({ attempts: 0, deliveredAt: null });
    expect(onFailed).toHaveBeenCalledWith('post', expect.any(RetryLater));
  });

  it('backs off after a plain error and retries, with the error recorded without secrets', async () => {
    await kit.write([slack('flaky'), slack('flaky')]);
    const tries: number[] = [];
    await kit.start('p1', {
      post: kit.recording('p1', (effects) => {
        if (effects[0].id !== 1n) return;
        tries.push(Date.now());
        if (tries.length === 1) throw new Error('connect failed for postgresql://bot:hunter2@db.internal/app');
      }),
    });
    await waitFor(async () => (await db.effect.findFirst({ where: { id: 1n } }))?.lastError, 'the failure recorded');
    const failed = await db.effect.findFirstOrThrow({ where: { id: 1n } });
    expect(failed.lastError).not.toContain('hunter2');
    expect(failed.lastError).toContain('postgresql://bot:***@db.internal/app');
    expect(failed.attempts).toBe(1);
    expect(failed.runAfter.getTime() - failed.createdAt.getTime()).toBeGreaterThanOrEqual(800); // 1 s, -20 % at most
    expect(kit.laneIds('flaky')).toEqual([]); // the lane waits for its head
    await waitFor(() => kit.laneIds('flaky').length === 2, 'the retry and the next effect delivered');
    expect(kit.laneIds('flaky')).toEqual([1n, 2n]);
    expect(tries[1] - tries[0]).toBeGreaterThanOrEqual(790);
  });

  it('GiveUp settles the effect as given up and the lane goes on; an unknown kind is given up too', async () => {
    await kit.write([slack('gone'), slack('gone'), slack('odd', 'mystery'), slack('odd')]);
    const onGaveUp = jest.fn();
    await kit.start(
      'p1',
      {
        post: kit.recording('p1', (effects) => {
          if (effects[0].id === 1n) throw new GiveUp('channel_not_found');
        }),
      },
      { onGaveUp },
    );
    await waitFor(async () => (await undelivered(db)) === 0, 'everything settled');
    const rows = await db.effect.findMany({ orderBy: { id: 'asc' } });
    expect(rows[0]).toMatchObject({ gaveUp: true, lastError: 'channel_not_found', attempts: 1, leasedBy: null });
    expect(rows[0].deliveredAt).toBeInstanceOf(Date);
    expect(rows[1]).toMatchObject({ gaveUp: false, lastError: null });
    expect(rows[2]).toMatchObject({ gaveUp: true, lastError: "no handler for effect kind 'mystery' in pool 'slack'" });
    expect(kit.deliveredIds()).toEqual(expect.arrayContaining([2n, 4n]));
    expect(kit.deliveredIds()).toHaveLength(2);
    expect(onGaveUp.mock.calls.map(([kind]) => kind).sort()).toEqual(['mystery', 'post']);
  });

  it('survives handlers that throw synchronously and callbacks that throw', async () => {
    await kit.write([slack('sync'), slack('other')]);
    let thrown = 0;
    await kit.start(
      'p1',
      {
        post: {
          // Not async: the throw happens while the runner calls deliver, before any promise exists.
          deliver: (effects) => {
            if (effects[0].lane === 'sync' && thrown++ === 0) throw new TypeError('not even a promise');
            kit.deliveries.push({ processId: 'p1', kind: 'post', lane: effects[0].lane, ids: effects.map((e) => e.id), at: Date.now() });
            return Promise.resolve();
          },
        },
      },
      {
        onDelivered: () => {
          throw new Error('metrics broke');
        },
        onFailed: () => {
          throw new Error('metrics broke');
        },
      },
    );
    await waitFor(() => kit.deliveredIds().length === 2, 'both delivered, the thrower after its retry');
    expect(thrown).toBe(2);
    // The handler has returned; the runner records the delivery just after (a callback that throws must not stop it).
    await waitFor(async () => (await undelivered(db)) === 0, 'both recorded as delivered');
  });
});

describe('batches', () => {
  it('hands consecutive same-kind effects of a lane over together, up to batch, stopping at another kind', async () => {
    await kit.write([
      slack('L', 'update'),
      slack('L', 'update'),
      slack('L', 'post'),
      slack('L', 'update'),
      slack('L', 'update'),
      slack('L', 'update'),
      slack('L', 'update'),
      slack('M', 'update'),
      slack('M', 'update'),
      slack('M', 'update'),
      slack('M', 'update'),
      slack('M', 'update'),
      slack('N', 'post'),
      slack('N', 'post'),
    ]);
    await kit.start('p1', {
      update: kit.recording('p1', undefined, 3),
      post: kit.recording('p1'),
    });
    await waitFor(async () => (await undelivered(db)) === 0, 'everything delivered');
    const batches = (lane: string) => kit.deliveries.filter((d) => d.lane === lane).map((d) => `${d.kind}:${d.ids.join(',')}`);
    expect(batches('L')).toEqual(['update:1,2', 'post:3', 'update:4,5,6', 'update:7']);
    expect(batches('M')).toEqual(['update:8,9,10', 'update:11,12']);
    expect(batches('N')).toEqual(['post:13', 'post:14']); // batch 1 by default
  });
});

describe('several runners', () => {
  it('two processes on one pool never deliver an effect twice and keep lane order', async () => {
    await kit.write(interleaved(30, 8));
    const inDelivery = new Set<string>();
    let overlapped = false;
    const handler = (processId: string) =>
      kit.recording(processId, async (effects) => {
        if (inDelivery.has(effects[0].lane)) overlapped = true;
        inDelivery.add(effects[0].lane);
        await pause(Math.random() * 4);
        inDelivery.delete(effects[0].lane);
      });
    await Promise.all([kit.start('p1', { post: handler('p1') }, { concurrency: 3 }), kit.start('p2', { post: handler('p2') }, { concurrency: 3 })]);
    await waitFor(() => kit.deliveredIds().length >= 240, 'all 240 effects delivered', 20_000);
    await pause(300);
    expect(kit.deliveredIds()).toHaveLength(240);
    expectEachOnce(kit.deliveredIds());
    expect(overlapped).toBe(false);
    for (let lane = 0; lane < 30; lane += 1) expect(kit.laneIds(`lane:${lane}`)).toEqual(await idsOfLane(db, `lane:${lane}`));
    expect(new Set(kit.deliveries.map((d) => d.processId))).toEqual(new Set(['p1', 'p2']));
  });

  it("delivers a crashed process's leased effects elsewhere once it stops beating, not before", async () => {
    await kit.write([slack('stuck'), slack('stuck')]);
    const hang = kit.hanging('crashed');
    // One slot, held by the hanging delivery: like a dead process, it claims nothing more.
    const { beat: crashedBeat } = await kit.start('crashed', { post: hang.handler }, { concurrency: 1 });
    const [held] = await hang.started;
    expect(held.id).toBe(1n);

    await kit.start('survivor', { post: kit.recording('survivor') });
    await kit.write([slack('proof')]); // the survivor is claiming…
    await waitFor(() => kit.laneIds('proof').length === 1, 'the survivor delivering');
    await pause(200);
    expect(kit.laneIds('stuck')).toEqual([]); // …but leaves the live process's lease alone

    crashedBeat.halt(); // the process "dies": no more beats, nothing released
    await waitFor(() => kit.laneIds('stuck').length === 2, 'the stuck lane delivered by the survivor', 10_000);
    expect(kit.deliveries.filter((d) => d.lane === 'stuck').map((d) => d.processId)).toEqual(['survivor', 'survivor']);
    expect(kit.laneIds('stuck')).toEqual([1n, 2n]);
  });

  it('a process whose beat is late never takes its own deliveries in flight again', async () => {
    await kit.write([slack('stuck')]);
    const hang = kit.hanging('late', 'stuck');
    const { beat } = await kit.start('late', { post: hang.handler }, { concurrency: 2 });
    await hang.started;
    beat.halt(); // a slow database, say: the beat stops arriving while the process and its runner go on
    await waitFor(
      async () => (await db.$queryRaw<unknown[]>`SELECT 1 FROM "EffectRunnerBeat" WHERE "beatAt" < (now() AT TIME ZONE 'UTC') - interval '2500 milliseconds'`).length,
      'the beat older than livenessMs',
    );
    await kit.write([slack('proof')]); // written after the lease looks dead: claimed after the stuck head would be
    await waitFor(() => kit.laneIds('proof').length === 1, 'the runner still claiming');
    expect(hang.calls()).toBe(1);
  });

  it('stop() releases its leases at once, while its process still beats', async () => {
    await kit.write([slack('held'), slack('held')]);
    const hang = kit.hanging('leaving');
    const { runner: leaving } = await kit.start('leaving', { post: hang.handler });
    await hang.started;
    await leaving.stop(50); // the delivery outlives the grace: released all the same
    expect((await db.effect.findFirstOrThrow({ where: { id: 1n } })).leasedBy).toBeNull();
    expect(await db.effectRunnerBeat.count({ where: { id: 'leaving' } })).toBe(1); // still beating: not a crash

    await kit.start('next', { post: kit.recording('next') });
    await waitFor(() => kit.laneIds('held').length === 2, 'the released lane delivered by the next runner', 5_000);
    expect(kit.deliveries.map((d) => d.processId)).toEqual(['next', 'next']);
  });
});

describe('bounded reads', () => {
  it('never claims more than the free slots (times batch) with 5,000 effects waiting', async () => {
    await kit.write(interleaved(1_000, 5, 'update'));
    const claims: Array<[number, number]> = [];
    const sizes: number[] = [];
    await kit.start(
      'p1',
      {
        update: kit.recording('p1', (effects) => void sizes.push(effects.length), 3),
      },
      { concurrency: 4, onClaimed: (lanes, effects) => void claims.push([lanes, effects]) },
    );
    await waitFor(() => kit.deliveredIds().length >= 400, 'a good part of the backlog delivered', 20_000);
    expect(claims.length).toBeGreaterThan(10);
    expect(Math.max(...claims.map(([lanes]) => lanes))).toBeLessThanOrEqual(4);
    expect(Math.max(...claims.map(([, effects]) => effects))).toBeLessThanOrEqual(12);
    expect(Math.max(...sizes)).toBe(3);
    expect(new Set(sizes)).toEqual(new Set([3, 2]));
  });

  it('reports the backlog of its pool', async () => {
    await kit.write([slack('a'), slack('a'), { pool: 'jobs', lane: 'j', kind: 'schedule' }]);
    await db.$executeRawUnsafe(`UPDATE "Effect" SET "createdAt" = "createdAt" - interval '90 seconds' WHERE id = 1`);
    const runner = (pool: string) => new EffectRunner({ db, logger: createLogger('silent'), pool, processId: 'p1', concurrency: 1, handlers: {} }); // never started
    const backlog = await runner('slack').backlog();
    expect(backlog).toEqual({ pool: 'slack', undelivered: 2, oldestAgeSeconds: expect.any(Number) });
    expect(backlog.oldestAgeSeconds).toBeGreaterThanOrEqual(89);
    expect(backlog.oldestAgeSeconds).toBeLessThan(3_600);
    expect(await runner('nobody').backlog()).toEqual({ pool: 'nobody', undelivered: 0, oldestAgeSeconds: 0 });
  });
});

describe('pruning', () => {
  it('deletes settled effects older than the cut-off, in bounded steps, and never undelivered ones', async () => {
    await kit.write([slack('a'), slack('a'), slack('b'), slack('c'), slack('d')]);
    await db.$executeRawUnsafe(`UPDATE "Effect" SET "deliveredAt" = (now() AT TIME ZONE 'UTC') - interval '2 days' WHERE id IN (1, 2, 3)`);
    await db.$executeRawUnsafe(`UPDATE "Effect" SET "deliveredAt" = (now() AT TIME ZONE 'UTC') WHERE id = 4`);
    const dayAgo = new Date(Date.now() - 86_400_000);
    expect(await pruneSettledEffects(db, dayAgo, 2)).toBe(2);
    expect(await pruneSettledEffects(db, dayAgo, 2)).toBe(1);
    expect(await pruneSettledEffects(db, dayAgo, 2)).toBe(0);
    expect((await db.effect.findMany({ orderBy: { id: 'asc' } })).map((row) => row.id)).toEqual([4n, 5n]);
  });
});
