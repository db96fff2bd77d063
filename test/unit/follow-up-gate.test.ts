import { FollowUpGate } from '../../src/slack/follow-up-gate';

/** A follow-up the test finishes by hand: it records when it started, and ends (or throws) when told to. */
class Job {
  started = false;
  private finish!: (outcome: { error?: Error }) => void;
  private readonly finished = new Promise<{ error?: Error }>((resolve) => (this.finish = resolve));
  /** What `gate.run` returned for this job. */
  result!: Promise<string>;

  constructor(readonly name: string) {}

  readonly work = async (): Promise<string> => {
    this.started = true;
    const { error } = await this.finished;
    if (error) throw error;
    return this.name;
  };

  end(): Promise<unknown> {
    this.finish({});
    return this.result.catch(() => {});
  }

  fail(error: Error): Promise<unknown> {
    this.finish({ error });
    return this.result.catch(() => {});
  }
}

/** Lets every promise callback that is ready run (no timers involved). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function submit(gate: FollowUpGate, ...names: string[]): Job[] {
  return names.map((name) => {
    const job = new Job(name);
    job.result = gate.run(job.work);
    return job;
  });
}

const startedNames = (jobs: Job[]) => jobs.filter((job) => job.started).map((job) => job.name);

/** The slots alone: no quiet period, no maximum wait. */
const NO_WAIT_LIMITS = { quietMs: 0, maxWaitMs: Number.POSITIVE_INFINITY };

describe('FollowUpGate', () => {
  it('runs at most `limit` follow-ups at once and starts the rest as slots free up', async () => {
    const gate = new FollowUpGate(2, NO_WAIT_LIMITS);
    const jobs = submit(gate, 'a', 'b', 'c', 'd');
    await settle();
    expect(startedNames(jobs)).toEqual(['a', 'b']);

    await jobs[1].end();
    await settle();
    expect(startedNames(jobs)).toEqual(['a', 'b', 'c']);

    await jobs[0].end();
    await settle();
    expect(startedNames(jobs)).toEqual(['a', 'b', 'c', 'd']);
    await Promise.all([jobs[2].end(), jobs[3].end()]);
    await expect(Promise.all(jobs.map((job) => job.result))).resolves.toEqual(['a', 'b', 'c', 'd']);
  });

  it('starts waiting follow-ups in arrival order', async () => {
    const gate = new FollowUpGate(1, NO_WAIT_LIMITS);
    const jobs = submit(gate, 'first', 'second', 'third');
    await settle();
    expect(startedNames(jobs)).toEqual(['first']);
    await jobs[0].end();
    await settle();
    expect(startedNames(jobs)).toEqual(['first', 'second']);
    await jobs[1].end();
    await settle();
    expect(startedNames(jobs)).toEqual(['first', 'second', 'third']);
    await jobs[2].end();
  });

  it('never exceeds the limit nor lets a newcomer pass a waiter, however ends and arrivals interleave', async () => {
    // A freed slot passes straight to the next waiter: a follow-up arriving between the release and the waiter's
    // wake-up must neither take the slot as well (limit exceeded) nor go first (order broken). Ends and arrivals are
    // spread over promise ticks by a seeded generator, so the run is the same every time.
    let seed = 42;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const ticks = async (count: number) => {
      for (let i = 0; i < count; i++) await Promise.resolve();
    };
    const LIMIT = 3;
    const gate = new FollowUpGate(LIMIT, NO_WAIT_LIMITS);
    let active = 0;
    let mostActive = 0;
    const startOrder: number[] = [];
    const runs: Promise<void>[] = [];
    for (let id = 0; id < 300; id++) {
      const length = random(6);
      runs.push(
        gate.run(async () => {
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
    expect(startOrder).toHaveLength(300);
  });

  it('frees the slot of a follow-up that throws, and rejects with its error', async () => {
    const gate = new FollowUpGate(1, NO_WAIT_LIMITS);
    const [failing, next] = submit(gate, 'failing', 'next');
    await settle();
    expect(next.started).toBe(false);

    const error = new Error('Slack said no');
    const rejected = expect(failing.result).rejects.toBe(error);
    await failing.fail(error);
    await rejected;
    await settle();
    expect(next.started).toBe(true);
    await next.end();
    await expect(next.result).resolves.toBe('next');
  });

  it('frees the slot of a follow-up that throws before its first await', async () => {
    const gate = new FollowUpGate(1, NO_WAIT_LIMITS);
    const error = new Error('bad input');
    await expect(
      gate.run(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    const [after] = submit(gate, 'after');
    await settle();
    expect(after.started).toBe(true);
    await after.end();
  });

  it('rejects a limit below 1 or not whole', () => {
    expect(() => new FollowUpGate(0)).toThrow(/at least 1/);
    expect(() => new FollowUpGate(1.5)).toThrow(/at least 1/);
  });

  describe('quiet period (on jest’s fake clock)', () => {
    const QUIET_MS = 20;

    beforeEach(() => jest.useFakeTimers({ now: 0 }));
    afterEach(() => jest.useRealTimers());

    it('starts nothing while follow-ups keep arriving, then up to the limit in arrival order once none came for `quietMs`', async () => {
      const gate = new FollowUpGate(2, { quietMs: QUIET_MS, maxWaitMs: 1000 });
      const jobs: Job[] = [];
      // A burst: one arrival every 5 ms for 50 ms.
      for (let i = 0; i < 10; i++) {
        jobs.push(...submit(gate, `j${i}`));
        await jest.advanceTimersByTimeAsync(5);
      }
      expect(startedNames(jobs)).toEqual([]);
      // The last arrived 5 ms ago.
      await jest.advanceTimersByTimeAsync(QUIET_MS - 5 - 1);
      expect(startedNames(jobs)).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(startedNames(jobs)).toEqual(['j0', 'j1']);

      // Freed slots go on in order as long as it stays quiet.
      await jobs[1].end();
      expect(startedNames(jobs)).toEqual(['j0', 'j1', 'j2']);

      // A newcomer makes it busy again: the next slot waits until it has been quiet for `quietMs` again, and then
      // goes to the longest waiter, not to the newcomer.
      const [late] = submit(gate, 'late');
      await jobs[0].end();
      await jest.advanceTimersByTimeAsync(QUIET_MS - 1);
      expect(startedNames([...jobs, late])).toEqual(['j0', 'j1', 'j2']);
      await jest.advanceTimersByTimeAsync(1);
      expect(startedNames([...jobs, late])).toEqual(['j0', 'j1', 'j2', 'j3']);

      for (const job of [...jobs, late]) {
        await jest.advanceTimersByTimeAsync(0);
        if (job.started) await job.end();
      }
    });

    it('makes a lone follow-up wait `quietMs`, no more', async () => {
      const gate = new FollowUpGate(2, { quietMs: QUIET_MS, maxWaitMs: 1000 });
      const [alone] = submit(gate, 'alone');
      await jest.advanceTimersByTimeAsync(QUIET_MS - 1);
      expect(alone.started).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(alone.started).toBe(true);
      await alone.end();
    });

    it('runs a follow-up that waited `maxWaitMs` even if it never got quiet', async () => {
      const gate = new FollowUpGate(1, { quietMs: QUIET_MS, maxWaitMs: 1000 });
      const [first] = submit(gate, 'first');
      const others: Job[] = [];
      // Clicks keep coming every 10 ms: never quiet for 20 ms.
      for (let elapsed = 0; elapsed < 990; elapsed += 10) {
        await jest.advanceTimersByTimeAsync(10);
        others.push(...submit(gate, `at${elapsed + 10}`));
      }
      expect(first.started).toBe(false);
      await jest.advanceTimersByTimeAsync(10);
      expect(first.started).toBe(true);
      await first.end();
      for (const job of others) job.end();
      await jest.advanceTimersByTimeAsync(2000);
    });
  });

  describe('max wait (on jest’s fake clock)', () => {
    const MAX_WAIT_MS = 1000;

    beforeEach(() => jest.useFakeTimers({ now: 0 }));
    afterEach(() => jest.useRealTimers());

    it('runs a follow-up that waited `maxWaitMs` anyway, beside the hung ones, and tells onOverflow', async () => {
      const overflows: Array<{ running: number; waiting: number }> = [];
      const gate = new FollowUpGate(1, { quietMs: 0, maxWaitMs: MAX_WAIT_MS, onOverflow: (stats) => overflows.push(stats) });
      const [hung] = submit(gate, 'hung');
      await jest.advanceTimersByTimeAsync(500);
      const [second, third] = submit(gate, 'second', 'third');

      await jest.advanceTimersByTimeAsync(MAX_WAIT_MS - 1);
      expect(startedNames([hung, second, third])).toEqual(['hung']);
      await jest.advanceTimersByTimeAsync(1);
      expect(startedNames([hung, second, third])).toEqual(['hung', 'second', 'third']);
      expect(overflows).toEqual([
        { running: 1, waiting: 1 },
        { running: 1, waiting: 0 },
      ]);
      await Promise.all([second.end(), third.end()]);
      await expect(second.result).resolves.toBe('second');

      // They held no slot, so their end freed none: the hung follow-up still holds the only one.
      const [fourth] = submit(gate, 'fourth');
      await jest.advanceTimersByTimeAsync(MAX_WAIT_MS - 1);
      expect(fourth.started).toBe(false);

      // Once the hung follow-up ends, its slot goes to the waiter, whose timer no longer matters.
      await hung.end();
      expect(fourth.started).toBe(true);
      await jest.advanceTimersByTimeAsync(MAX_WAIT_MS);
      expect(overflows).toHaveLength(2);
      const [fifth] = submit(gate, 'fifth');
      await jest.advanceTimersByTimeAsync(0);
      expect(fifth.started).toBe(false);
      await fourth.end();
      expect(fifth.started).toBe(true);
      await fifth.end();
    });

    it('keeps the line in arrival order while nobody has waited `maxWaitMs`', async () => {
      const gate = new FollowUpGate(1, { quietMs: 0, maxWaitMs: MAX_WAIT_MS });
      const jobs = submit(gate, 'a', 'b', 'c');
      await jest.advanceTimersByTimeAsync(MAX_WAIT_MS / 2);
      await jobs[0].end();
      expect(startedNames(jobs)).toEqual(['a', 'b']);
      await jest.advanceTimersByTimeAsync(MAX_WAIT_MS / 2 - 1);
      expect(startedNames(jobs)).toEqual(['a', 'b']);
      // c has now waited the maximum; b, which took the slot in time, is still running.
      await jest.advanceTimersByTimeAsync(1);
      expect(startedNames(jobs)).toEqual(['a', 'b', 'c']);
      await Promise.all([jobs[1].end(), jobs[2].end()]);
    });

    it('with a max wait of 0, never holds anything back', async () => {
      const gate = new FollowUpGate(1, { quietMs: 0, maxWaitMs: 0 });
      const jobs = submit(gate, 'a', 'b');
      await jest.advanceTimersByTimeAsync(0);
      expect(startedNames(jobs)).toEqual(['a', 'b']);
      await Promise.all(jobs.map((job) => job.end()));
    });
  });
});
