import type { Logger } from 'pino';

/** Exit status after an unhandled rejection or an uncaught exception (EX_SOFTWARE). */
export const FAULT_EXIT_CODE = 70;

/**
 * An unhandled promise rejection or an uncaught exception leaves the process in a state nobody planned for: log it
 * through pino (with the same redaction as every other line, so it reaches the log pipeline as JSON), then exit
 * non-zero and let the orchestrator restart the process. Nothing is lost: effects wait in the outbox, expiry jobs in
 * Redis, and this process's leases free up after EFFECT_LIVENESS.
 */
export function exitOnProcessFaults(logger: Logger, proc: NodeJS.Process = process): void {
  const fatal = (fields: Record<string, unknown>, message: string) => {
    try {
      logger.fatal(fields, message);
      logger.flush?.();
    } finally {
      proc.exit(FAULT_EXIT_CODE);
    }
  };
  proc.on('unhandledRejection', (reason) => fatal({ err: reason }, 'unhandled promise rejection; exiting'));
  proc.on('uncaughtException', (err, origin) => fatal({ err, origin }, 'uncaught exception; exiting'));
}
