import { Lifecycle, type LifecycleStep } from '../../src/app/lifecycle';
import { createLogger } from '../../src/logger';

/** A logger writing into an array, one parsed JSON line each. */
function capture() {
  const raw: string[] = [];
  const logger = createLogger('info', {
    write(line: string) {
      raw.push(line);
    },
  });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, any>) };
}

/** Steps that record what ran, in a shared journal; `failStop`/`failStart` name the steps that throw. */
function recordingSteps(names: string[], { failStart = [] as string[], failStop = [] as string[] } = {}) {
  const journal: string[] = [];
  const steps: LifecycleStep[] = names.map((name) => ({
    name,
    start: async () => {
      journal.push(`start ${name}`);
      if (failStart.includes(name)) throw new Error(`${name} would not start`);
    },
    stop: async () => {
      journal.push(`stop ${name}`);
      if (failStop.includes(name)) throw new Error(`${name} would not stop`);
    },
  }));
  return { journal, steps };
}

describe('Lifecycle', () => {
  it('starts the steps in order and stops them in reverse order', async () => {
    const { logger } = capture();
    const { journal, steps } = recordingSteps(['database', 'workers', 'http']);
    const lifecycle = new Lifecycle(steps, logger);

    await lifecycle.start();
    await lifecycle.stop();

    expect(journal).toEqual(['start database', 'start workers', 'start http', 'stop http', 'stop workers', 'stop database']);
  });

  it('waits for each step before the next one', async () => {
    const { logger } = capture();
    const journal: string[] = [];
    let release!: () => void;
    const slow: LifecycleStep = {
      name: 'slow',
      start: () => new Promise<void>((resolve) => (release = resolve)).then(() => void journal.push('slow started')),
    };
    const next: LifecycleStep = { name: 'next', start: () => void journal.push('next started') };
    const starting = new Lifecycle([slow, next], logger).start();

    await Promise.resolve();
    expect(journal).toEqual([]);
    release();
    await starting;
    expect(journal).toEqual(['slow started', 'next started']);
  });

  it('logs a step that fails to stop, still stops the others, then rejects with the first failure', async () => {
    const { logger, lines } = capture();
    const { journal, steps } = recordingSteps(['database', 'queues', 'workers', 'http'], { failStop: ['workers', 'queues'] });
    const lifecycle = new Lifecycle(steps, logger);
    await lifecycle.start();

    await expect(lifecycle.stop()).rejects.toThrow('workers would not stop');

    expect(journal.filter((entry) => entry.startsWith('stop'))).toEqual(['stop http', 'stop workers', 'stop queues', 'stop database']);
    expect(lines().filter((line) => line.level === 50)).toEqual([
      expect.objectContaining({ step: 'workers', err: expect.objectContaining({ message: 'workers would not stop' }) }),
      expect.objectContaining({ step: 'queues', err: expect.objectContaining({ message: 'queues would not stop' }) }),
    ]);
  });

  it('ends the start at a step that fails, and a stop then stops every step, those never started too', async () => {
    // main.ts stops a bot that could not start: what construction opened (connections) must still close.
    const { logger } = capture();
    const { journal, steps } = recordingSteps(['database', 'slack token', 'workers'], { failStart: ['slack token'] });
    const lifecycle = new Lifecycle(steps, logger);

    await expect(lifecycle.start()).rejects.toThrow('slack token would not start');
    expect(journal).toEqual(['start database', 'start slack token']);

    await lifecycle.stop();
    expect(journal.slice(2)).toEqual(['stop workers', 'stop slack token', 'stop database']);
  });

  it('skips the half a step does not have', async () => {
    const { logger } = capture();
    const journal: string[] = [];
    const steps: LifecycleStep[] = [
      { name: 'database', stop: () => void journal.push('stop database') },
      { name: 'token check', start: () => void journal.push('start token check') },
    ];
    const lifecycle = new Lifecycle(steps, logger);

    await lifecycle.start();
    await lifecycle.stop();

    expect(journal).toEqual(['start token check', 'stop database']);
  });
});
