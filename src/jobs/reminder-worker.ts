import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AccessService } from '../services/access-service';
import { REMIND_JOB, type ReminderJobData } from './reminder-queue';

/** Sends the reminders when they are due. */
export class ReminderWorker {
  private readonly worker: Worker<ReminderJobData>;

  constructor(options: { connection: Redis; queueName: string; service: AccessService; logger: Logger }) {
    const { service, logger } = options;
    this.worker = new Worker<ReminderJobData>(
      options.queueName,
      async (job: Job<ReminderJobData>) => {
        if (job.name !== REMIND_JOB) throw new Error(`unknown job ${job.name}`);
        await service.sendReminder(job.data.requestId, new Date(job.data.expiresAt));
      },
      { connection: options.connection, concurrency: 5 },
    );
    this.worker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id }, 'reminder job failed'));
    this.worker.on('error', (err) => logger.error({ err }, 'reminder worker error'));
  }

  waitUntilReady(): Promise<unknown> {
    return this.worker.waitUntilReady();
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
