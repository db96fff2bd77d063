// Child process for test/unit/process-faults.test.ts: installs the bot's fault handlers, then faults as FAULT says.
import { exitOnProcessFaults } from '../../src/app/process-faults';
import { createLogger } from '../../src/logger';

exitOnProcessFaults(createLogger('info'));
const url = `postgresql://bot:${process.env.FAULT_SECRET}@db.internal:5432/breakglass`;
if (process.env.FAULT === 'rejection') void Promise.reject(new Error(`lost promise while connecting to ${url}`));
else
  setTimeout(() => {
    throw new Error(`thrown from a timer, ${url}`);
  }, 10);
// Would print if the process went on after the fault.
setTimeout(() => console.log('still running'), 500);
