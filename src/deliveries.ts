import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { auditHeadHandlers } from './audit/head-deliveries';
import type { Db } from './db/prisma';
import type { OnCallNow } from './domain/on-call';
import { EffectRunner, RunnerBeat, type EffectHandler, type EffectRunnerOptions } from './effects/effect-runner';
import type { BreakglassMetrics } from './metrics/breakglass-metrics';
import type { Policy } from './policy/types';
import type { ProviderRegistry } from './providers/provider-registry';
import { emergencyEffectHandlers, endedEffectHandlers, jobEffectHandlers, providerEffectHandlers, type ReminderScheduler } from './requests/effect-handlers';
import { burstUnderway } from './requests/expiry-sweeper';
import type { RequestStore } from './requests/request-store';
import type { ExpiryScheduler } from './requests/request-deps';
import { toExtensionView, type RequestReads } from './requests/request-reads';
import type { AccessService } from './services/access-service';
import type { HomePublisher } from './services/home-publisher';
import type { RequestQueries } from './services/request-queries';
import { emergencyMessageHandlers } from './slack/deliveries/emergency-messages';
import { extensionMessageHandlers } from './slack/deliveries/extension-messages';
import { isStale } from './requests/request-deps';
import { homeRefreshHandlers } from './slack/deliveries/home-refresh';
import { isChannelArchived } from './requests/incident-closures';
import { requestMessageHandlers } from './slack/deliveries/request-messages';
import { reportDigestHandlers } from './slack/deliveries/report-digest';
import { revokeAlertHandlers } from './slack/deliveries/revoke-alerts';
import type { AccessReports } from './reports/access-reports';
import type { SlackSurface } from './slack/surface';

/** Lanes in delivery at once, per pool. Slack's are mostly waiting on its per-channel pace (about one post a second
 * per channel), so many lanes keep many channels busy; targets and Redis get fewer. */
const SLACK_LANES = 64;
/** One lane per channel with summaries waiting (each merges what waits there), and the ended requests' lane. */
const SUMMARY_LANES = 64;
const JOB_LANES = 8;
const HOME_LANES = 1;
/** During a burst of expiries, the Slack and App Home runners do not even claim (at most this long) until this
 * process's sweeps are done: thousands of summaries' reads, and claims walking their backlog, would otherwise compete
 * with the revocations for the CPU and the pool. */
const AFTER_SWEEPS_MAX_WAIT_MS = 10_000;

export interface DeliveriesDeps {
  db: Db;
  policy: Policy;
  logger: Logger;
  metrics: BreakglassMetrics;
  surface: SlackSurface;
  providers: ProviderRegistry;
  reads: RequestReads;
  store: RequestStore;
  queries: RequestQueries;
  homes: HomePublisher;
  service: AccessService;
  expiry: ExpiryScheduler;
  reminders: ReminderScheduler;
  /** Who is on call now for on-call approvers (UserDirectory.onCallNow), for the approval message. */
  onCallNow(principals: readonly string[]): Promise<OnCallNow[]>;
  /** Lanes of grant work in flight at once (the expiry worker's concurrency). */
  providerLanes: number;
  livenessMs?: number;
  /** Computes the review digest when it is delivered. */
  reports: Pick<AccessReports, 'compute'>;
  /** AUDIT_SEAL_BOUND: how long the digest waits for its period's last events to be sealed. */
  sealBoundMs: number;
}

/** The effect runners of one process: one per pool, all delivering from the outbox whatever any process committed,
 * and taking over the effects of a process that died (RunnerBeat). */
export class Deliveries {
  private readonly beat: RunnerBeat;
  private readonly runners: Map<string, EffectRunner>;

  constructor(deps: DeliveriesDeps) {
    const { db, logger, reads, service, surface } = deps;
    const processId = `${process.pid}-${randomUUID()}`;
    this.beat = new RunnerBeat(db, processId, { livenessMs: deps.livenessMs, logger: logger.child({ module: 'effects' }) });
    const loadExtension = async (extensionId: string) => {
      const extension = await reads.findExtension(extensionId);
      return extension ? toExtensionView(extension) : null;
    };
    const messages = requestMessageHandlers({
      surface,
      logger: logger.child({ module: 'slack-effects' }),
      securityChannel: deps.policy.revokeAlerts.securityChannel,
      loadView: (requestId) => reads.loadView(requestId),
      loadViews: async (requestIds) => (await reads.findRequests(requestIds)).map((request) => reads.toView(request)),
      loadExtension,
      timelines: (requestIds) => deps.queries.eventsOfMany(requestIds),
      reminderOptions: async (view) => {
        const options = await service.extensions.options(view.id, view.requesterId);
        return options.ok ? { maxMoreSeconds: options.maxMoreSeconds, approvals: options.approvals } : null;
      },
      recordMessageTs: async (requestId, ts) => {
        await db.accessRequest.updateMany({ where: { id: requestId, messageTs: null }, data: { messageTs: ts } });
      },
      requestPostFailed: (requestId, reason) => service.submit.postFailed(requestId, reason),
      onCallNow: (principals) => deps.onCallNow(principals),
      channelArchived: (channelId) => isChannelArchived(db, channelId),
    });
    const slack: Record<string, EffectHandler> = {
      ...messages,
      ...extensionMessageHandlers({
        surface,
        loadView: (requestId) => reads.loadView(requestId),
        loadExtension,
        recordExtensionTs: async (extensionId, ts) => {
          await db.extension.updateMany({ where: { id: extensionId, messageTs: null }, data: { messageTs: ts } });
        },
        extensionPostFailed: (extensionId) => service.extensions.postFailed(extensionId),
      }),
      ...revokeAlertHandlers({
        db,
        surface,
        securityChannel: deps.policy.revokeAlerts.securityChannel,
        loadView: (requestId) => reads.loadView(requestId),
        countFailing: () => service.countFailingRevocations(),
        channelArchived: (channelId) => isChannelArchived(db, channelId),
      }),
      ...emergencyMessageHandlers({
        surface,
        loadView: (requestId) => reads.loadView(requestId),
        offerStillValid: (view) => view.status === 'PENDING' && !isStale(deps.policy, view),
      }),
      ...auditHeadHandlers({ surface, securityChannel: deps.policy.revokeAlerts.securityChannel, headFile: deps.policy.audit?.publishHeadFile ?? null }),
      ...reportDigestHandlers({ db, surface, compute: (period) => deps.reports.compute(period), sealBoundMs: deps.sealBoundMs }),
    };
    // What the channels read when access ends: the ended requests become their messages, and the summaries go out
    // ahead of the threads' replies (see ChannelPacer).
    const summary: Record<string, EffectHandler> = { 'channel.summary': messages['channel.summary'], ...endedEffectHandlers({ db, store: deps.store }) };
    const home = homeRefreshHandlers({
      loadFacts: (requestIds) => db.accessRequest.findMany({ where: { id: { in: [...requestIds] } }, select: { requesterId: true, resourceId: true, roleId: true } }),
      requestChanged: (request) => deps.homes.requestChanged(request),
    });
    // Slack work gives way to a burst of expiries: to this process's sweeps (waiting, without a statement), and to any
    // process's (its claims take nothing while grants that just fell due are still active: a web process on the
    // cores a worker revokes on). Grants and jobs never wait.
    const giveWay = { ready: () => service.ending.whenSweepsIdle(AFTER_SWEEPS_MAX_WAIT_MS), holdWhile: burstUnderway };
    const pools: Array<[string, number, Record<string, EffectHandler>, Pick<EffectRunnerOptions, 'ready' | 'holdWhile'>?]> = [
      ['provider', deps.providerLanes, providerEffectHandlers({ db, providers: deps.providers, grants: service.grants, logger })],
      ['jobs', JOB_LANES, { ...jobEffectHandlers({ expiry: deps.expiry, reminders: deps.reminders }), ...emergencyEffectHandlers({ reviews: service.reviews }) }],
      ['slack', SLACK_LANES, slack, giveWay],
      ['summary', SUMMARY_LANES, summary, giveWay],
      ['home', HOME_LANES, home, giveWay],
    ];
    this.runners = new Map(
      pools.map(([pool, concurrency, handlers, gives]) => [
        pool,
        new EffectRunner({
          db,
          logger: logger.child({ module: 'effects', pool }),
          pool,
          processId,
          concurrency,
          handlers,
          ...gives,
          livenessMs: deps.livenessMs,
          onDelivered: (kind, count) => deps.metrics.effectsDelivered(pool, kind, count),
          onFailed: (kind) => deps.metrics.effectFailed(pool, kind),
          onGaveUp: (kind) => deps.metrics.effectGaveUp(pool, kind),
        }),
      ]),
    );
  }

  async start(): Promise<void> {
    await this.beat.start();
    for (const runner of this.runners.values()) runner.start();
  }

  /** New effects were committed in this process: deliver them now rather than at the next poll. */
  wake(pools?: ReadonlySet<string>): void {
    for (const [pool, runner] of this.runners) if (!pools || pools.has(pool)) runner.wake();
  }

  /** Stops claiming, waits up to `graceMs` for deliveries in flight, and frees what is left for other processes. */
  async stop(graceMs: number): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.stop(graceMs)));
    await this.beat.stop();
  }
}
