import { FAULT_EXIT_CODE } from '../../src/app/process-faults';
import { runToExit } from '../support/run-main';

/** A process that hit an unhandled rejection or an uncaught exception logs it through pino (JSON, redacted) and
 * exits non-zero, so the orchestrator restarts it. Run as child processes: the handlers end the process. */
const SECRET = 'Sx-fault-Pw1';
const fault = (kind: 'rejection' | 'exception') => runToExit('test/support/process-fault-script.ts', { env: { FAULT: kind, FAULT_SECRET: SECRET } });

describe('exitOnProcessFaults', () => {
  it('an unhandled rejection: one fatal pino line with the error, then exit status 70', async () => {
    const run = await fault('rejection');
    expect(run.code).toBe(FAULT_EXIT_CODE);
    const fatal = run.lines.filter((line) => line.level === 60);
    expect(fatal).toEqual([
      expect.objectContaining({
        service: 'breakglass',
        msg: 'unhandled promise rejection; exiting',
        err: expect.objectContaining({ type: 'Error', message: expect.stringContaining('lost promise') }),
      }),
    ]);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    // The work after the fault never ran.
    expect(run.stdout).not.toContain('still running');
  });

  it('an uncaught exception: one fatal pino line with the error and its origin, then exit status 70', async () => {
    const run = await fault('exception');
    expect(run.code).toBe(FAULT_EXIT_CODE);
    const fatal = run.lines.filter((line) => line.level === 60);
    expect(fatal).toEqual([
      expect.objectContaining({
        msg: 'uncaught exception; exiting',
        origin: 'uncaughtException',
        err: expect.objectContaining({ message: expect.stringContaining('thrown from a timer') }),
      }),
    ]);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    expect(run.stdout).not.toContain('still running');
  });
});
