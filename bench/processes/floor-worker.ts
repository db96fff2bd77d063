/** The floor for revocation lag: a plain BullMQ Worker with the app's concurrency whose jobs do nothing. Each job
 * carries its due time; the lag is taken when the job is picked up and when BullMQ reports it completed. */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { childConfig, serve } from '../lib/child';

export interface FloorConfig {
  redisUrl: string;
  queueName: string;
  concurrency: number;
}

const config = childConfig<FloorConfig>();
const pickedUp: number[] = [];
const completed: number[] = [];
let lastCompletedAt = 0;
let worker: Worker<{ due: number }> | null = null;
const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });

serve(
  {
    start: async () => {
      worker = new Worker<{ due: number }>(
        config.queueName,
        async (job) => {
          pickedUp.push(Date.now() - job.data.due);
        },
        { connection, concurrency: config.concurrency },
      );
      worker.on('completed', (job) => {
        lastCompletedAt = Date.now();
        completed.push(lastCompletedAt - job.data.due);
      });
      await worker.waitUntilReady();
    },
    results: () => ({ pickedUp, completed, lastCompletedAt }),
  },
  async () => {
    await worker?.close();
    await connection.quit();
  },
);
