import { DriftSchedule } from '../../src/jobs/drift-schedule';
import { createLogger } from '../../src/logger';
import type { DriftResult } from '../../src/requests/drift-check';

const EMPTY: DriftResult = { checked: 0, reappeared: 0, revoked: 0, missing: 0, errors: 0, busy: 0 };

/** Stands in for DriftCheck (which test/requests/drift-check.test.ts runs against real targets): each run waits
 * until the test lets it finish, so overlapping runs would show. */
class GatedCheck {
  started = 0;
  running = 0;
  maxRunning = 0;
  failNext = false;
  private finishers: Array<() => void> = [];

  run(): Promise<DriftResult> {
    this.started++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const fail = this.failNext;
    this.failNext = false;
    return new Promise((resolve, reject) =>
      this.finishers.push(() => {
        this.running--;
        if (fail) reject(new Error('database gone'));
        else resolve(EMPTY);
      }),
    );
  }

  finishAll(): void {
    for (const finish of this.finishers.splice(0)) finish();
  }
}

const logger = createLogger('silent');

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('DriftSchedule', () => {
  it('runs once shortly after start, then every interval', async () => {
    const check = new GatedCheck();
    const schedule = new DriftSchedule(check, logger, 60_000, 5_000);
    schedule.start();
    await jest.advanceTimersByTimeAsync(4_999);
    expect(check.started).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(check.started).toBe(1);
    check.finishAll();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(check.started).toBe(2);
    check.finishAll();
    await schedule.stop();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(check.started).toBe(2);
  });

  it('never runs two checks at once in a process: ticks during a slow run are skipped', async () => {
    const check = new GatedCheck();
    const schedule = new DriftSchedule(check, logger, 1_000, 0);
    schedule.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(check.started).toBe(1);
    check.finishAll();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(check.started).toBe(2);
    expect(check.maxRunning).toBe(1);
    check.finishAll();
    await schedule.stop();
  });

  it('stop() waits for the run in progress', async () => {
    const check = new GatedCheck();
    const schedule = new DriftSchedule(check, logger, 60_000, 0);
    schedule.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(check.running).toBe(1);
    let stopped = false;
    const stopping = schedule.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    check.finishAll();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('a failed run is logged and the next one still comes', async () => {
    const check = new GatedCheck();
    const schedule = new DriftSchedule(check, logger, 1_000, 0);
    check.failNext = true;
    schedule.start();
    await jest.advanceTimersByTimeAsync(0);
    check.finishAll();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(check.started).toBe(2);
    check.finishAll();
    await schedule.stop();
  });
});
