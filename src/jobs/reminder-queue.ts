import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export const REMIND_JOB = 'remind';

export interface ReminderJobData {
  requestId: string;
  /** The expiry the reminder is about; after an extension the old reminder finds it changed and does nothing. */
  expiresAt: string;
}

/** Deterministic per request and expiry, so scheduling twice adds one job and an extension adds a new one. */
export function reminderJobId(requestId: string, expiresAt: Date): string {
  return `remind-${requestId}-${expiresAt.getTime()}`;
}

/** Where the "your access ends soon" reminders wait. A queue of its own, so reminders never sit in front of
 * revocations. Losing one (Redis flushed) is caught by the reconciler, which sends overdue reminders itself. */
export class ReminderQueue {
  readonly queue: Queue<ReminderJobData>;

  constructor(connection: Redis, name: string) {
    this.queue = new Queue<ReminderJobData>(name, {
      connection,
      // A few tries over about a minute; the DM itself is retried by the Slack client.
      defaultJobOptions: { removeOnComplete: true, removeOnFail: 100, attempts: 5, backoff: { type: 'exponential', delay: 2_000 } },
    });
    // Errors of the shared connection are reported once by the infrastructure (OutageReporter); without a listener
    // BullMQ would print each one to stderr.
    this.queue.on('error', () => {});
  }

  async schedule(requestId: string, at: Date, expiresAt: Date): Promise<void> {
    const delay = Math.max(0, at.getTime() - Date.now());
    await this.queue.add(REMIND_JOB, { requestId, expiresAt: expiresAt.toISOString() }, { jobId: reminderJobId(requestId, expiresAt), delay });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** The reminder queue of a Breakglass queue name. */
export function reminderQueueName(queueName: string): string {
  return `${queueName}-reminders`;
}
