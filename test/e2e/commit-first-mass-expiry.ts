import { Queue } from 'bullmq';
import { reminderQueueName } from '../../src/jobs/reminder-queue';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { BotHarness, truncateAll } from '../support/bot-harness';
import { BotProcess } from '../support/bot-process';
import type { FakeOutage } from '../support/fake-slack-api';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { deliveredChannelSummaries, deliveredThreadReplies, isFullSummaryOf } from './commit-first-helpers';
import { buttonValue, textOf } from './e2e-helpers';
import { APPROVER1, e2ePolicy } from './policy-fixture';

/**
 * The mass-expiry scenario of issue 10, shared by the SIGKILL and the SIGTERM test: dozens of grants over a few
 * channels fall due in the same second in a real bot process while Slack holds every post in those channels back
 * (429), so their audit summaries are still waiting when the process goes away. A second process on the same
 * database and queue, with Slack healthy again, must get every summary out: none lost, duplicates allowed.
 *
 * The grants are made through the real flow by an in-process bot (quick Slack pacing, so forty approvals take
 * seconds rather than the production one-post-a-second per channel), which is then stopped; only their expiry is
 * moved into the past in the database, as expiry-batches does. The queued expiry jobs still sleep for an hour: the
 * bot process's start-up reconcile brings them forward, so all of them are due together.
 */

/** Forty grants over three channels. */
export const GRANTS = 40;
export const CHANNELS = ['C0MASSA', 'C0MASSB', 'C0MASSC'];
/** What the fake answers the rate-limited posts with; the limit itself lasts until the first process is gone. */
const RETRY_AFTER_SECONDS = 5;

/**
 * How long the second process may take to deliver what the first one left: it takes over a dead process's leases
 * once that process has not beaten for EFFECT_LIVENESS (3 s in TAKEOVER_ENV), then paces the posts per channel at
 * one a second: each channel's digest first, then up to 14 threads' full summaries (40 grants over 3 channels), so
 * about 3 + 1 + 14 s plus the other thread replies still waiting there.
 */
export const TAKEOVER_TIMEOUT_MS = 30_000;

/**
 * Settings for both bot processes, short so an abandoned job (JOB_LOCK) or an abandoned delivery (EFFECT_LIVENESS)
 * is taken over in seconds.
 */
export const TAKEOVER_ENV: Record<string, string> = { JOB_LOCK: '2s', RECONCILE_EVERY: '1s', EFFECT_LIVENESS: '3s' };

const userOf = (index: number) => `U0MASS${String(index + 1).padStart(2, '0')}`;
const channelOf = (index: number) => CHANNELS[index % CHANNELS.length];

export interface MassGrant {
  id: string;
  number: number;
  channelId: string;
  messageTs: string;
}

export class MassExpiryWorld {
  readonly target = new TargetDatabase();
  readonly webhook = new WebhookReceiver('commit-first-mass-expiry');
  harness!: BotHarness;
  grants: MassGrant[] = [];
  private readonly processes: BotProcess[] = [];
  private rateLimit: FakeOutage | undefined;
  private policyYaml = '';

  get slack() {
    return this.harness.slack;
  }

  get db() {
    return this.harness.db;
  }

  async setUp(): Promise<void> {
    await Promise.all([this.webhook.start(), this.target.connect()]);
    this.policyYaml = e2ePolicy({
      login: await this.target.createRole('alice', { login: true }),
      readRole: await this.target.createRole('read', { login: false }),
      writeRole: await this.target.createRole('write', { login: false }),
      postgresUrl: this.target.url,
      webhookUrl: this.webhook.url,
      webhookSecret: this.webhook.secret,
      // Everyone may ask; each requester is their own login on the target (the fake Slack's email local part).
      extraResources: `
  - id: team-console
    provider: { type: webhook, url: "${this.webhook.url}", secret: "${this.webhook.secret}", timeout: 2s }
    requesters: ["*"]
    approvers: [${APPROVER1}]
    roles: [ { id: operator, approvals: 1, maxDuration: 2h, requireTicket: false } ]`,
    });
    // Reconciles far apart: the in-process bot only makes the grants, it must not expire them.
    this.harness = new BotHarness(this.policyYaml, { reconcileEveryMs: 3_600_000 });
    await truncateAll();
    await this.harness.start();
  }

  /** GRANTS active one-hour grants, a few at a time, through /breakglass and Approve. */
  async makeGrants(): Promise<void> {
    const indexes = [...Array(GRANTS).keys()];
    const BATCH = 8;
    for (let start = 0; start < GRANTS; start += BATCH) {
      this.grants.push(...(await Promise.all(indexes.slice(start, start + BATCH).map((index) => this.grant(index)))));
    }
    await waitFor(() => this.webhook.granted.size === GRANTS, `${GRANTS} grants on the target`, 20_000);
    // The in-process bot leaves; its notices are out (Slack is healthy), so everything left is the processes' work.
    await this.harness.bot.stop();
  }

  private async grant(index: number): Promise<MassGrant> {
    const channelId = channelOf(index);
    const userId = userOf(index);
    const reason = `mass expiry grant #${String(index + 1).padStart(2, '0')}`;
    const response = await this.harness.sender.slashCommand({ userId, channelId, text: `team-console operator 1h - ${reason}` });
    if (response.status !== 200) throw new Error(`/breakglass for ${userId} answered ${response.status}`);
    const message = await waitFor(
      () =>
        this.slack
          .callsOf('chat.postMessage')
          .find((call) => call.args.channel === channelId && !call.args.thread_ts && buttonValue(call.args.blocks ?? [], ActionIds.approve) && textOf(call.args).includes(reason)),
      `the approval message of ${reason}`,
    );
    const id = buttonValue(message.args.blocks, ActionIds.approve)!;
    const request = await waitFor(async () => {
      const stored = await this.db.accessRequest.findUniqueOrThrow({ where: { id } });
      return stored.messageTs ? stored : null;
    }, `the message ts of ${reason}`);
    await this.harness.click(ActionIds.approve, APPROVER1, request);
    await waitFor(async () => (await this.db.accessRequest.findUniqueOrThrow({ where: { id } })).status === 'ACTIVE', `${reason} to become active`, 15_000);
    return { id, number: request.number, channelId, messageTs: request.messageTs! };
  }

  /** From now until `slackRecovers()`, Slack answers 429 to every post in the grants' channels. */
  holdBackPosts(): void {
    const channels = new Set(CHANNELS);
    this.rateLimit = this.slack.rateLimit(['chat.postMessage'], RETRY_AFTER_SECONDS, (args) => channels.has(String(args.channel)));
  }

  slackRecovers(): void {
    this.rateLimit?.lift();
  }

  /** Every grant is due now: one second ago, all of them. */
  async makeAllDue(): Promise<void> {
    await this.db.accessRequest.updateMany({ where: { id: { in: this.grants.map((grant) => grant.id) } }, data: { expiresAt: new Date(Date.now() - 1_000) } });
  }

  async startProcess(): Promise<BotProcess> {
    const bot = new BotProcess({
      policyYaml: this.policyYaml,
      slackApiUrl: this.slack.url,
      queueName: this.harness.queueName,
      responseUrl: () => this.slack.responseUrl(),
      env: TAKEOVER_ENV,
    });
    this.processes.push(bot);
    return bot.start();
  }

  /** All expired in the database and revoked on the target (what the first process must get done before it goes). */
  async waitAllExpired(): Promise<void> {
    const ids = this.grants.map((grant) => grant.id);
    await waitFor(async () => (await this.db.accessRequest.count({ where: { id: { in: ids }, status: 'EXPIRED' } })) === GRANTS, `all ${GRANTS} requests to be EXPIRED`, 30_000);
    await waitFor(() => this.webhook.granted.size === 0, 'every grant revoked on the target');
  }

  /** Grants whose end Slack has taken in their channel (a digest naming them, or their summary) and whose full
   * audit summary it has taken in their thread. */
  summarized(): MassGrant[] {
    return this.grants.filter(
      (grant) =>
        deliveredChannelSummaries(this.slack, grant.channelId, grant.number).length > 0 &&
        deliveredThreadReplies(this.slack, grant.channelId, grant.messageTs).some((call) => isFullSummaryOf(call, grant.number)),
    );
  }

  /** Posts in the grants' channels Slack refused (429): the bot's notices about the expiry, thread replies or
   * summaries, waiting for Slack. (Which of them a bot tries first is its business: the summaries are what count.) */
  refusedPosts(): number {
    const channels = new Set(CHANNELS);
    return this.slack.callsOf('chat.postMessage').filter((call) => channels.has(String(call.args.channel)) && call.answer?.status === 429).length;
  }

  /** Waits until the bot has tried to post about the expiry (and been told to wait), so the process goes away while
   * its notices are pending rather than before it got to them. */
  async waitForRefusedPost(): Promise<void> {
    await waitFor(() => this.refusedPosts() > 0, 'a first (rate-limited) attempt to post about the expired grants', 20_000);
  }

  /** Waits for every grant's summary in its channel; fails naming the ones still missing. */
  async waitEverySummary(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.summarized().length < GRANTS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const delivered = new Set(this.summarized());
    const missing = this.grants.filter((grant) => !delivered.has(grant));
    if (missing.length > 0) {
      const where = (grant: MassGrant) => (deliveredChannelSummaries(this.slack, grant.channelId, grant.number).length > 0 ? 'its thread' : 'its channel');
      throw new Error(
        `${missing.length} of ${GRANTS} audit summaries never reached their channel digest and thread within ${timeoutMs} ms of the restart: ` +
          missing.map((grant) => `BG-${grant.number} (${grant.channelId}, missing in ${where(grant)})`).join(', '),
      );
    }
  }

  async tearDown(): Promise<void> {
    this.slackRecovers();
    await Promise.all(this.processes.map((bot) => bot.kill()));
    for (const name of [this.harness.queueName, reminderQueueName(this.harness.queueName)]) {
      const queue = new Queue(name, { connection: { url: process.env.TEST_REDIS_URL } });
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await Promise.all([this.harness.db.$disconnect(), this.slack.stop(), this.webhook.stop()]);
    await this.target.dropAll();
  }
}
