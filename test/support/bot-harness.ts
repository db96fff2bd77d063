import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createBreakglass, type Breakglass } from '../../src/app';
import { reminderQueueName } from '../../src/jobs/reminder-queue';
import { DEFAULT_FOLLOW_UP_CONCURRENCY, type AppConfig } from '../../src/config/env';
import type { Db } from '../../src/db/prisma';
import { createOwnerDb } from './databases';
import { parsePolicy } from '../../src/policy/load-policy';
import { FakeSlackApi } from './fake-slack-api';
import { SlackRequestSender } from './slack-request-signer';

export { createOwnerDb, truncateAll } from './databases';

export const TEST_BOT_TOKEN = 'xoxb-test-token';
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789';

/** The real bot on a free port, its Web API pointed at a fake Slack, real PostgreSQL and Redis, its own queue. */
export class BotHarness {
  readonly slack = new FakeSlackApi({ expectedToken: TEST_BOT_TOKEN });
  /** The test's own connection, as the tables' owner: to look at and arrange rows. The bot itself connects as the
   * restricted role (TEST_DATABASE_URL), as in production. */
  readonly db: Db = createOwnerDb();
  readonly queueName: string;
  bot!: Breakglass;
  /** Every log line the bot wrote, at trace level, when started with `captureLogs`. */
  readonly logs: string[] = [];
  sender!: SlackRequestSender;
  port = 0;

  /** Pass the queue name of an earlier harness to play a restarted bot on the same queue. */
  constructor(
    private readonly policyYaml: string,
    private readonly options: {
      queueName?: string;
      reconcileEveryMs?: number;
      databaseUrl?: string;
      redisUrl?: string;
      captureLogs?: boolean;
      /** Settings on top of the test ones, e.g. `role`. */
      config?: Partial<AppConfig>;
      migrationsDir?: string;
      auditApiToken?: string;
      /** How long a Slack follow-up waits for a slot before it runs anyway (default: the app's). */
      followUpMaxWaitMs?: number;
      /** The review reports' clock (digest schedule, /breakglass report), and how often the digest schedule looks. */
      clock?: () => Date;
      reportCheckEveryMs?: number;
      /** The environment the policy is checked with (e.g. PAGERDUTY_TOKEN); default none. */
      policyEnv?: NodeJS.ProcessEnv;
      /** The time policy rotations (schedule:…) are read at. */
      onCallClock?: () => Date;
    } = {},
  ) {
    this.queueName = options.queueName ?? `bg-test-${randomBytes(4).toString('hex')}`;
  }

  async start(): Promise<this> {
    await this.slack.start();
    const config: AppConfig = {
      slackBotToken: TEST_BOT_TOKEN,
      slackSigningSecret: TEST_SIGNING_SECRET,
      slackApiUrl: this.slack.url,
      databaseUrl: this.options.databaseUrl ?? process.env.TEST_DATABASE_URL!,
      redisUrl: this.options.redisUrl ?? process.env.TEST_REDIS_URL!,
      port: 0,
      policyPath: 'test-policy.yaml',
      logLevel: 'silent',
      queueName: this.queueName,
      reconcileEveryMs: this.options.reconcileEveryMs ?? 60_000,
      jobLockMs: 30_000,
      expiryConcurrency: 20,
      slackFollowUpConcurrency: DEFAULT_FOLLOW_UP_CONCURRENCY,
      auditApiToken: this.options.auditApiToken,
      ...this.options.config,
    };
    const logger = this.options.captureLogs
      ? pino({ level: 'trace' }, { write: (line: string) => void this.logs.push(line) })
      : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    // Slack's one-post-a-second pacing is tested on its own (channel-pacer, slack-rate-limits); here it would only
    // slow every test down.
    this.bot = createBreakglass({
      config,
      policy: parsePolicy(this.policyYaml, 'test-policy.yaml', this.options.policyEnv ?? {}),
      logger,
      slackPostIntervalMs: 20,
      migrationsDir: this.options.migrationsDir,
      followUpMaxWaitMs: this.options.followUpMaxWaitMs,
      clock: this.options.clock,
      reportCheckEveryMs: this.options.reportCheckEveryMs,
      onCallClock: this.options.onCallClock,
    });
    this.port = await this.bot.start();
    this.sender = new SlackRequestSender({
      baseUrl: `http://127.0.0.1:${this.port}`,
      signingSecret: TEST_SIGNING_SECRET,
      responseUrl: () => this.slack.responseUrl(),
    });
    return this;
  }

  async request(id: string) {
    return this.db.accessRequest.findUniqueOrThrow({ where: { id }, include: { approvals: true, grant: true } });
  }

  async auditActions(requestId: string): Promise<string[]> {
    const events = await this.db.auditEvent.findMany({ where: { requestId }, orderBy: { id: 'asc' } });
    return events.map((event) => event.action);
  }

  /** Clicks a button on the request's message as `userId`, as Slack would deliver it. */
  click(actionId: string, userId: string, request: { id: string; channelId: string; messageTs: string | null }) {
    return this.sender.blockAction({ userId, channelId: request.channelId, actionId, value: request.id, messageTs: request.messageTs ?? undefined });
  }

  /** Stops the bot and removes its queue from Redis entirely (which is also what a Redis flush does to it). */
  async stop(): Promise<void> {
    await this.bot?.stop();
    const { Queue } = await import('bullmq');
    for (const name of [this.queueName, reminderQueueName(this.queueName)]) {
      const queue = new Queue(name, { connection: { url: process.env.TEST_REDIS_URL } });
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await this.db.$disconnect();
    await this.slack.stop();
  }
}
