/**
 * Superseded: src/slack/follow-up-gate.ts now has this quiet period (DEFAULT_FOLLOW_UP_QUIET_MS). Kept because
 * docs/benchmarks.md ("Follow-up gate") measured the idea with it first.
 *
 * Experiment (not a change): a FollowUpGate that also waits for the burst to pass. A follow-up starts only when a
 * slot is free AND no other follow-up has arrived for BENCH_QUIET_MS (default 20): each arrives right after its
 * ack, so while a burst is still being acked nothing starts. The max wait (1 s) still lets everything run in the
 * end. Loaded into the bot process with BENCH_BOT_PATCH:
 *
 *   BENCH_QUIET_MS=20 BENCH_BOT_PATCH=bench/experiments/quiet-gate.ts npm run bench -- ack
 */
import { DEFAULT_FOLLOW_UP_MAX_WAIT_MS, FollowUpGate } from '../../src/slack/follow-up-gate';

const quietMs = Number(process.env.BENCH_QUIET_MS ?? 20);

interface QuietState {
  running: number;
  lastArrival: number;
  waiting: Set<{ start: () => void; timer: NodeJS.Timeout }>;
  pumpTimer: NodeJS.Timeout | null;
}

const states = new WeakMap<FollowUpGate, QuietState>();

function stateOf(gate: FollowUpGate): QuietState {
  let state = states.get(gate);
  if (!state) {
    state = { running: 0, lastArrival: 0, waiting: new Set(), pumpTimer: null };
    states.set(gate, state);
  }
  return state;
}

function pump(gate: FollowUpGate, state: QuietState): void {
  const limit = (gate as unknown as { limit: number }).limit;
  const quietFor = performance.now() - state.lastArrival;
  if (quietFor < quietMs) {
    if (!state.pumpTimer) {
      state.pumpTimer = setTimeout(() => {
        state.pumpTimer = null;
        pump(gate, state);
      }, quietMs - quietFor);
    }
    return;
  }
  while (state.running < limit && state.waiting.size > 0) {
    const [next] = state.waiting;
    state.waiting.delete(next);
    state.running++;
    next.start();
  }
}

FollowUpGate.prototype.run = async function <T>(this: FollowUpGate, work: () => Promise<T>): Promise<T> {
  const state = stateOf(this);
  state.lastArrival = performance.now();
  const holdsSlot = await new Promise<boolean>((resolve) => {
    const waiter = {
      start: () => {
        clearTimeout(waiter.timer);
        resolve(true);
      },
      timer: setTimeout(() => {
        state.waiting.delete(waiter);
        resolve(false);
      }, DEFAULT_FOLLOW_UP_MAX_WAIT_MS),
    };
    state.waiting.add(waiter);
    pump(this, state);
  });
  try {
    return await work();
  } finally {
    if (holdsSlot) {
      state.running--;
      pump(this, state);
    }
  }
};
