import path from 'node:path';

/** What was tried (without secrets), why it failed, and the next step: every start-up failure says all three. */
export interface Explanation {
  tried: string;
  why: string;
  next: string;
}

interface ConnectionErrors {
  explainPostgres(error: unknown, url: string, variable: string, role: 'owner' | 'bot'): Explanation;
  explainRedis(error: unknown, url: string): Explanation;
  formatExplanation(explanation: Explanation): string;
  probePostgres(url: string, timeoutMs?: number): Promise<unknown>;
}

/** scripts/connection-errors.cjs, shared with `npm run db:migrate` (plain JavaScript there, so both load the same
 * file: ../../scripts from src/app in a checkout and from dist/app in the image). */
export const connectionErrors: ConnectionErrors = require(path.resolve(__dirname, '../../scripts/connection-errors.cjs'));

/** One line: "<tried> failed: <why>. Next: <next>." */
export const formatExplanation = (explanation: Explanation): string => connectionErrors.formatExplanation(explanation);

/** A start-up step that could not be done, explained. main.ts prints it and exits 1. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(readonly explanation: Explanation) {
    super(formatExplanation(explanation));
  }
}
