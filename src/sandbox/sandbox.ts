import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import { type Breakglass, createBreakglass } from '../app';
import { DEFAULT_FOLLOW_UP_CONCURRENCY } from '../config/env';
import { parsePolicy } from '../policy/load-policy';
import { REPO_ROOT, runMigrations, type SandboxDatabases, startEmbeddedPostgres, startRedisFromPath } from './batteries';
import { demoPolicy } from './demo-policy';
import { DemoPostgresTarget, DemoWebhookTarget } from './demo-targets';
import { Interactions } from './interactions';
import { SANDBOX_PEOPLE, SANDBOX_EMAIL_DOMAIN } from './people';
import { FakeSlackApi } from './slack-stand-in/fake-slack-api';
import { FAKE_BOT_ID, FAKE_BOT_USER_ID, FAKE_TEAM_ID } from './slack-stand-in/fake-slack-types';
import { SlackRequestSender } from './slack-stand-in/request-signer';
import { SandboxWebServer } from './web-server';
import { Workspace } from './workspace';

export interface SandboxOptions {
  /** The bot's connection (its restricted role). Unset: an embedded PostgreSQL under `dataDir`. */
  databaseUrl?: string;
  /** The tables' owner, to apply the migrations with; unset with a databaseUrl: the migrations are not run. */
  migrationDatabaseUrl?: string;
  /** An admin connection for the demo PostgreSQL target (CREATEROLE, able to GRANT); default: migrationDatabaseUrl. */
  targetDatabaseUrl?: string;
  /** Unset: a redis-server from PATH on a free port. */
  redisUrl?: string;
  /** The page's port on 127.0.0.1 (0: a free one). */
  port?: number;
  /** Where the embedded PostgreSQL keeps its data (default .sandbox/ in the repository). */
  dataDir?: string;
  /** Prefix of the demo roles on the target (tests sharing a cluster use one; default none). */
  rolePrefix?: string;
  /** The BullMQ queue (default breakglass-sandbox). */
  queueName?: string;
  /** The bot's log level (default warn: the page is the interface). */
  logLevel?: string;
  /** Start-up progress lines. */
  log?: (line: string) => void;
}

export interface Sandbox {
  /** The page. */
  url: string;
  bot: Breakglass;
  slack: FakeSlackApi;
  workspace: Workspace;
  postgresTarget: DemoPostgresTarget;
  webhookTarget: DemoWebhookTarget;
  stop(): Promise<void>;
}

const SANDBOX_TOKEN = 'xoxb-sandbox-test-token';

/**
 * The whole bot, locally: the same createBreakglass as production, in HTTP mode with signed requests, its Web API
 * pointed at the Slack stand-in, on a real PostgreSQL and Redis (embedded / from PATH when none are given), under the
 * demo policy with a PostgreSQL and a webhook target. Everything started is stopped by stop(), in reverse order.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? (() => {});
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  try {
    let databases: Omit<SandboxDatabases, 'stop'>;
    if (options.databaseUrl) {
      const owner = options.migrationDatabaseUrl;
      if (owner) await runMigrations(owner);
      databases = {
        embedded: false,
        botUrl: options.databaseUrl,
        ownerUrl: owner ?? options.databaseUrl,
        targetAdminUrl: options.targetDatabaseUrl ?? owner ?? options.databaseUrl,
      };
    } else {
      const embedded = await startEmbeddedPostgres(options.dataDir ?? path.join(REPO_ROOT, '.sandbox'), log);
      stops.push(embedded.stop);
      databases = embedded;
    }
    let redisUrl = options.redisUrl;
    if (!redisUrl) {
      const redis = await startRedisFromPath(log);
      stops.push(redis.stop);
      redisUrl = redis.url;
    }

    const postgresTarget = new DemoPostgresTarget(databases.targetAdminUrl, options.rolePrefix ?? '');
    // Roles are cluster-wide and outlive the recreated databases: drop them with what an earlier run granted.
    if (databases.embedded) await postgresTarget.dropAll();
    await postgresTarget.prepare();

    const slack = new FakeSlackApi({ expectedToken: SANDBOX_TOKEN });
    await slack.start();
    stops.push(() => slack.stop());
    for (const person of SANDBOX_PEOPLE) {
      slack.setUser(person.id, { name: person.login, real_name: person.name, profile: { email: `${person.login}@${SANDBOX_EMAIL_DOMAIN}`, display_name: person.name } });
    }
    const workspace = new Workspace(slack);
    stops.push(async () => workspace.close());

    let sender: SlackRequestSender | null = null;
    const interactions = new Interactions(workspace, () => {
      if (!sender) throw new Error('the bot is not up yet');
      return sender;
    });
    const webhookTarget = new DemoWebhookTarget(randomBytes(16).toString('hex'), () => web.broadcast());
    const web = new SandboxWebServer({
      workspace,
      interactions,
      webhook: webhookTarget,
      targets: async () => ({
        postgres: { roles: await postgresTarget.members() },
        webhook: { access: [...webhookTarget.access.values()], calls: webhookTarget.calls.slice(-8).reverse() },
      }),
    });
    const pagePort = await web.start(options.port ?? 0);
    stops.push(() => web.stop());
    // The workspace lives at the page: permalinks in the bot's messages (audit summaries) lead back to it.
    slack.respondWith('auth.test', () => ({
      ok: true,
      url: `http://127.0.0.1:${pagePort}/`,
      team: 'Sandbox',
      user: 'breakglass',
      team_id: FAKE_TEAM_ID,
      user_id: FAKE_BOT_USER_ID,
      bot_id: FAKE_BOT_ID,
      is_enterprise_install: false,
    }));

    const logins = Object.fromEntries(SANDBOX_PEOPLE.map((person) => [person.id, postgresTarget.login(person.login)]));
    const policyYaml = demoPolicy({
      postgresUrl: databases.targetAdminUrl,
      readRole: postgresTarget.readRole,
      writeRole: postgresTarget.writeRole,
      logins,
      webhookUrl: `http://127.0.0.1:${pagePort}/demo-webhook/access`,
      webhookSecret: webhookTarget.secret,
    });
    const signingSecret = randomBytes(16).toString('hex');
    const bot = createBreakglass({
      config: {
        slackBotToken: SANDBOX_TOKEN,
        slackSigningSecret: signingSecret,
        slackApiUrl: slack.url,
        databaseUrl: databases.botUrl,
        redisUrl,
        port: 0,
        policyPath: 'sandbox-policy.yaml',
        logLevel: options.logLevel ?? 'warn',
        queueName: options.queueName ?? 'breakglass-sandbox',
        reconcileEveryMs: 15_000,
        jobLockMs: 30_000,
        expiryConcurrency: 5,
        slackFollowUpConcurrency: DEFAULT_FOLLOW_UP_CONCURRENCY,
        role: 'all',
        driftCheckEveryMs: null,
        // The demo targets are the sandbox's own and their addresses change between runs (free ports, a new webhook
        // secret): grants left live by an earlier run on the same database are revoked at start rather than refused.
        providerChange: 'revoke',
      },
      policy: parsePolicy(policyYaml, 'sandbox-policy.yaml', {}),
      logger: pino({ level: options.logLevel ?? 'warn' }),
      slackPostIntervalMs: 100,
    });
    const botPort = await bot.start();
    stops.push(() => bot.stop());
    sender = new SlackRequestSender({ baseUrl: `http://127.0.0.1:${botPort}`, signingSecret, teamDomain: 'sandbox', responseUrl: () => slack.responseUrl() });
    return { url: `http://127.0.0.1:${pagePort}/`, bot, slack, workspace, postgresTarget, webhookTarget, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
