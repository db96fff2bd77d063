import { Limiter } from '../../src/concurrency/limiter';

/** Lets every promise callback that is ready run (no timers involved). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** Acquires a slot for each name and records, in order, who got one. */
function line(limiter: Limiter, names: string[], urgent: string[] = []) {
  const got: string[] = [];
  const releases = new Map<string, () => void>();
  for (const name of names) {
    void limiter.acquire({ urgent: urgent.includes(name) }).then((release) => {
      got.push(name);
      releases.set(name, release);
    });
  }
  return { got, release: (name: string) => releases.get(name)?.() };
}

describe('Limiter', () => {
  it('hands out at most `limit` slots, first come first served, and counts holders and waiters', async () => {
    const limiter = new Limiter(2);
    const { got, release } = line(limiter, ['a', 'b', 'c', 'd']);
    await settle();
    expect(got).toEqual(['a', 'b']);
    expect({ running: limiter.running, waiting: limiter.waiting }).toEqual({ running: 2, waiting: 2 });

    release('b');
    await settle();
    expect(got).toEqual(['a', 'b', 'c']);
    release('a');
    release('a'); // a second release of the same slot frees nothing more
    await settle();
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect({ running: limiter.running, waiting: limiter.waiting }).toEqual({ running: 2, waiting: 0 });
    release('c');
    release('d');
    await settle();
    expect(limiter.running).toBe(0);
  });

  it('serves urgent waiters before the others, each kind in arrival order', async () => {
    const limiter = new Limiter(1);
    const { got, release } = line(limiter, ['holder', 'bg1', 'bg2', 'click1', 'click2'], ['click1', 'click2']);
    await settle();
    for (const name of ['holder', 'click1', 'click2', 'bg1']) {
      release(name);
      await settle();
    }
    expect(got).toEqual(['holder', 'click1', 'click2', 'bg1', 'bg2']);
  });

  it('never exceeds the limit nor lets a newcomer pass a waiter, however releases and arrivals interleave', async () => {
    let seed = 7;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const ticks = async (count: number) => {
      for (let i = 0; i < count; i++) await Promise.resolve();
    };
    const LIMIT = 3;
    const limiter = new Limiter(LIMIT);
    let active = 0;
    let mostActive = 0;
    const startOrder: number[] = [];
    const runs: Promise<void>[] = [];
    for (let id = 0; id < 300; id++) {
      const length = random(6);
      runs.push(
        limiter.run(async () => {
          startOrder.push(id);
          mostActive = Math.max(mostActive, ++active);
          await ticks(length);
          active--;
        }),
      );
      await ticks(random(4));
    }
    await Promise.all(runs);
    expect(mostActive).toBe(LIMIT);
    expect(startOrder).toEqual([...startOrder].sort((a, b) => a - b));
    expect(limiter.running).toBe(0);
  });

  it('run frees the slot when the work throws, also before its first await, and rejects with the error', async () => {
    const limiter = new Limiter(1);
    const error = new Error('no');
    await expect(
      limiter.run(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    await expect(limiter.run(async () => Promise.reject(error))).rejects.toBe(error);
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
    expect(limiter.running).toBe(0);
  });

  it('rejects a limit below 1 or not whole', () => {
    expect(() => new Limiter(0)).toThrow(/at least 1/);
    expect(() => new Limiter(2.5)).toThrow(/at least 1/);
  });

  describe('on jest’s fake clock', () => {
    beforeEach(() => jest.useFakeTimers({ now: 0 }));
    afterEach(() => jest.useRealTimers());

    it('with `quietMs`, starts nobody until no acquire has arrived for that long', async () => {
      const limiter = new Limiter(2, { quietMs: 20 });
      const { got, release } = line(limiter, ['a']);
      await jest.advanceTimersByTimeAsync(10);
      line(limiter, ['b']);
      await jest.advanceTimersByTimeAsync(19);
      expect(got).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(got).toEqual(['a']);
      expect(limiter.running).toBe(2);
      release('a');
    });

    it('with `maxWaitMs`, lets a waiter run past the limit, holding no slot, and reports it', async () => {
      const overflows: Array<{ running: number; waiting: number }> = [];
      const limiter = new Limiter(1, { maxWaitMs: 1000, onOverflow: (stats) => overflows.push(stats) });
      const holder = line(limiter, ['hung']);
      const waiter = line(limiter, ['late']);
      await jest.advanceTimersByTimeAsync(999);
      expect(waiter.got).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(waiter.got).toEqual(['late']);
      expect(overflows).toEqual([{ running: 1, waiting: 0 }]);
      expect({ running: limiter.running, waiting: limiter.waiting, pastLimit: limiter.pastLimit }).toEqual({ running: 1, waiting: 0, pastLimit: 1 });

      // Its release frees nothing: the hung holder still has the only slot.
      waiter.release('late');
      expect(limiter.pastLimit).toBe(0);
      const next = line(limiter, ['next']);
      await jest.advanceTimersByTimeAsync(0);
      expect(next.got).toEqual([]);
      holder.release('hung');
      await jest.advanceTimersByTimeAsync(0);
      expect(next.got).toEqual(['next']);
      // The waiter that got its slot in time does not also overflow later.
      await jest.advanceTimersByTimeAsync(2000);
      expect(overflows).toHaveLength(1);
      next.release('next');
    });
  });
});
