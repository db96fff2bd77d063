import type { Db } from '../../src/db/prisma';
import { EffectRunner, RunnerBeat, type EffectHandler, type EffectRunnerOptions } from '../../src/effects/effect-runner';
import { writeEffects, type EffectRow, type NewEffect } from '../../src/effects/outbox';
import { createLogger, type Logger } from '../../src/logger';

/** Short enough that crash tests finish quickly, long enough that a beat every livenessMs/3 never misses on a busy CI. */
export const LIVENESS_MS = 2_000;

export interface Delivery {
  processId: string;
  kind: string;
  lane: string;
  ids: bigint[];
  at: number;
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Log lines, parsed, for tests that check what was logged. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** Starts runners and beats, and stops whatever a test left running. */
export class RunnerKit {
  readonly deliveries: Delivery[] = [];
  private readonly runners: EffectRunner[] = [];
  private readonly beats: RunnerBeat[] = [];
  private readonly releases: Array<() => void> = [];

  constructor(private readonly db: Db) {}

  async write(effects: NewEffect[]): Promise<void> {
    await this.db.$transaction((tx) => writeEffects(tx, effects));
  }

  /** A handler that records what it receives, after `before` (a delay, a failure…). */
  recording(processId: string, before?: (effects: EffectRow[]) => Promise<void> | void, batch?: number): EffectHandler {
    return {
      batch,
      deliver: async (effects) => {
        await before?.(effects);
        this.deliveries.push({ processId, kind: effects[0].kind, lane: effects[0].lane, ids: effects.map((e) => e.id), at: Date.now() });
      },
    };
  }

  /** A handler that holds its deliveries (of `lane` only, if given) until the test ends (or `release` is called). */
  hanging(processId: string, lane?: string): { handler: EffectHandler; started: Promise<EffectRow[]>; release: () => void; calls: () => number } {
    const gate = deferred();
    this.releases.push(gate.resolve);
    let started!: (effects: EffectRow[]) => void;
    const startedPromise = new Promise<EffectRow[]>((r) => (started = r));
    let calls = 0;
    return {
      handler: this.recording(processId, async (effects) => {
        if (lane !== undefined && effects[0].lane !== lane) return;
        calls += 1;
        started(effects);
        await gate.promise;
      }),
      started: startedPromise,
      release: gate.resolve,
      calls: () => calls,
    };
  }

  async start(processId: string, handlers: EffectRunnerOptions['handlers'], options: Partial<EffectRunnerOptions> = {}): Promise<{ runner: EffectRunner; beat: RunnerBeat }> {
    const beat = new RunnerBeat(this.db, processId, { livenessMs: LIVENESS_MS });
    this.beats.push(beat);
    await beat.start();
    const runner = new EffectRunner({
      db: this.db,
      logger: createLogger('silent'),
      pool: 'slack',
      processId,
      concurrency: 4,
      handlers,
      pollMs: 100,
      livenessMs: LIVENESS_MS,
      ...options,
    });
    this.runners.push(runner);
    runner.start();
    return { runner, beat };
  }

  async stopAll(): Promise<void> {
    for (const release of this.releases) release();
    await Promise.all(this.runners.map((runner) => runner.stop(1_000)));
    await Promise.all(this.beats.map((beat) => beat.stop()));
  }

  /** Every delivered id of a lane, in delivery order. */
  laneIds(lane: string): bigint[] {
    return this.deliveries.filter((d) => d.lane === lane).flatMap((d) => d.ids);
  }

  deliveredIds(): bigint[] {
    return this.deliveries.flatMap((d) => d.ids);
  }
}

export async function undelivered(db: Db): Promise<number> {
  return db.effect.count({ where: { deliveredAt: null } });
}

export async function idsOfLane(db: Db, lane: string): Promise<bigint[]> {
  return (await db.effect.findMany({ where: { lane }, orderBy: { id: 'asc' }, select: { id: true } })).map((row) => row.id);
}
