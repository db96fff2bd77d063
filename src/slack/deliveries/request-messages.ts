import type { Logger } from 'pino';
import { isOnCallPrincipal, type OnCallNow } from '../../domain/on-call';
import type { RequestView } from '../../domain/request-view';
import type { TimelineEvent } from '../../domain/timeline-event';
import { RetryLater } from '../../effects/effect-errors';
import type { EffectHandler } from '../../effects/effect-runner';
import type { EffectRow } from '../../effects/outbox';
import type { DirectMessage, ThreadNotice } from '../../requests/effect-plans';
import { buildApprovalMessage } from '../blocks/approval-message';
import { buildAuditSummary } from '../blocks/audit-summary';
import { buildChannelDigests } from '../blocks/channel-digest';
import { buildEmergencyAlert, buildReviewOutcome } from '../blocks/emergency';
import { buildReminderMessage, extendedNotice, extensionOutcomeNotice } from '../blocks/extension';
import type { SlackMessage } from '../blocks/message';
import {
  approvalRecordedNotice,
  deniedNotice,
  grantedDirectMessage,
  grantedNotice,
  grantFailedNotice,
  revokeRequestedNotice,
  timedOutNotice,
  accessMissingNotice,
  accessReappearedNotice,
  providerChangedRevokingNotice,
  providerNotFoundNotice,
  providerVanishedNotice,
} from '../blocks/notices';
import { groupWithinBlockLimit, mergeSummaries } from '../summary-batches';
import type { SlackSurface } from '../surface';
import { incidentClosedNotice } from '../blocks/incident-close';
import { isPermanentSlackError, rethrowForRunner, slackErrorCode } from './slack-failure';
import { summaryDestination, type SummaryDestination } from './summary-destination';
import type { ExtensionView } from '../../domain/extension-view';

/** How long an update waits for the approval message to exist (its post is still queued), and how many times: past
 * that the post, whenever it goes out, renders the request as it is then anyway. */
const WAIT_FOR_MESSAGE_MS = 2_000;
const WAIT_FOR_MESSAGE_TRIES = 150;
/** A channel's ended grants handed over together (its lane's waiting `channel.summary` effects, at most). */
const SUMMARY_BATCH = 1_000;
/** Up to this many waiting in a channel, it reads their full audit summaries (merged); more, and it reads a digest
 * (src/slack/blocks/channel-digest.ts): at Slack's one message per second per channel, 200 grants ending together
 * in one channel would otherwise take minutes to be seen there. Each thread gets its full summary either way. */
const FULL_SUMMARIES_AT_MOST = 3;

export interface RequestMessagesDeps {
  surface: SlackSurface;
  logger: Logger;
  loadView(requestId: string): Promise<RequestView>;
  loadViews(requestIds: readonly string[]): Promise<RequestView[]>;
  loadExtension(extensionId: string): Promise<ExtensionView | null>;
  /** Audit events of many requests in one read (summaries' timelines). */
  timelines(requestIds: readonly string[]): Promise<Map<string, TimelineEvent[]>>;
  /** Extend's limits for the reminder DM; null when the access can no longer be extended (it ended). */
  reminderOptions(view: RequestView): Promise<{ maxMoreSeconds: number; approvals: number } | null>;
  /** Where security alerts go besides the incident channel (policy revokeAlerts.securityChannel), if anywhere. */
  securityChannel: string | null;
  /** Where the approval message's ts is kept (its thread and updates need it). */
  recordMessageTs(requestId: string, ts: string): Promise<void>;
  /** Whether the channel is archived as far as Breakglass heard (src/requests/incident-closures.ts). */
  channelArchived(channelId: string): Promise<boolean>;
  /** The request's approval message was refused for good (the bot is not in the channel…): the request fails. */
  requestPostFailed(requestId: string, reason: string): Promise<void>;
  /** Who is on call now for the on-call principals given (never throws; PagerDuty down is an answer). */
  onCallNow(principals: readonly string[]): Promise<OnCallNow[]>;
}

/** The Slack side of a request, delivered from the outbox. Each effect renders the request as it is when
 * delivered, plus the facts of the moment its payload carries, so a late delivery never shows a stale state. */
export function requestMessageHandlers(deps: RequestMessagesDeps): Record<string, EffectHandler> {
  const { surface } = deps;

  /** The approval message as the request is now; while it waits, with whoever is on call now for the role's on-call
   * approvers (looked up here, before the post or update, never between two steps that must both happen). */
  async function approvalMessage(view: RequestView): Promise<SlackMessage> {
    const onCallPrincipals = view.status === 'PENDING' ? view.approverPrincipals.filter(isOnCallPrincipal) : [];
    return buildApprovalMessage(view, onCallPrincipals.length > 0 ? await deps.onCallNow(onCallPrincipals) : []);
  }

  async function postRequest([effect]: EffectRow[]): Promise<void> {
    const view = await deps.loadView(effect.requestId!);
    if (view.messageTs) return; // posted already (delivered again after a crash before the record)
    try {
      const { ts } = await surface.postMessage(view.channelId, await approvalMessage(view));
      await deps.recordMessageTs(view.id, ts);
    } catch (err) {
      if (!isPermanentSlackError(err)) throw err;
      await deps.requestPostFailed(view.id, 'the approval message could not be posted');
      rethrowForRunner(err, 'posting the approval message');
    }
  }

  async function refresh(effects: EffectRow[]): Promise<void> {
    // Every update waiting for this message is one: the message shows the request as it is now.
    const view = await deps.loadView(effects[0].requestId!);
    if (!view.messageTs) {
      if (view.status === 'FAILED' || effects[0].attempts >= WAIT_FOR_MESSAGE_TRIES) return; // never posted: nothing to update
      throw new RetryLater(WAIT_FOR_MESSAGE_MS, 'the approval message is not posted yet');
    }
    try {
      await surface.updateMessage(view.channelId, view.messageTs, await approvalMessage(view));
    } catch (err) {
      rethrowForRunner(err, 'updating the approval message');
    }
  }

  async function threadNotice([effect]: EffectRow[]): Promise<void> {
    const view = await deps.loadView(effect.requestId!);
    if (!view.messageTs) return; // the approval message was never posted: there is no thread
    const message = await renderNotice(view, effect.payload as ThreadNotice);
    if (!message) return;
    try {
      await surface.postMessage(view.channelId, message, view.messageTs);
    } catch (err) {
      // An archived channel cannot take it: the requester hears it by DM (the summary goes its own way).
      if (slackErrorCode(err) !== 'is_archived' || (effect.payload as ThreadNotice).notice === 'summary') rethrowForRunner(err, 'replying in the thread');
      await sendDirectMessage(view.requesterId, message, 'sending a notice of an archived channel by DM');
    }
  }

  async function sendDirectMessage(userId: string, message: SlackMessage, what: string): Promise<void> {
    try {
      await surface.sendDirectMessage(userId, message);
    } catch (err) {
      rethrowForRunner(err, what);
    }
  }

  async function renderNotice(view: RequestView, notice: ThreadNotice): Promise<SlackMessage | null> {
    switch (notice.notice) {
      case 'approval_recorded':
        return approvalRecordedNotice({ ...view, approvals: view.approvals.slice(0, notice.approvals) }, notice.approverId);
      case 'granted':
        return grantedNotice(view);
      case 'grant_failed':
        return grantFailedNotice(view);
      case 'denied':
        return deniedNotice(view);
      case 'revoke_requested':
        return revokeRequestedNotice(view, notice.actorId);
      case 'timed_out':
        return timedOutNotice(view, notice.requestTtlSeconds);
      case 'extended':
        return extendedNotice(view, notice.actorId, notice.extendBySeconds);
      case 'access_missing':
        return accessMissingNotice(view);
      case 'access_reappeared':
        return accessReappearedNotice(view, notice);
      case 'provider_changed_revoking':
        return providerChangedRevokingNotice(view);
      case 'provider_vanished':
        return providerVanishedNotice(view);
      case 'provider_changed_not_found':
        return providerNotFoundNotice(view, notice.made);
      case 'extension_outcome': {
        const extension = await deps.loadExtension(notice.extensionId);
        return extension ? extensionOutcomeNotice(view, extension) : null;
      }
      case 'incident_closed':
        return incidentClosedNotice(view, notice);
      case 'summary':
        return (await summaries([view]))[0];
      case 'emergency_invoked':
        return buildEmergencyAlert(view, new Date());
      case 'emergency_reviewed':
        return buildReviewOutcome(view, new Date());
    }
  }

  /** Audit summaries with their timelines and thread links; without them a summary still goes out. */
  async function summaries(views: RequestView[]): Promise<SlackMessage[]> {
    const timelines = await deps.timelines(views.map((view) => view.id)).catch((err: unknown) => {
      deps.logger.warn({ err, requests: views.length }, 'could not load the timelines for the audit summaries');
      return new Map<string, TimelineEvent[]>();
    });
    return Promise.all(
      views.map(async (view) => {
        const threadLink = view.messageTs ? await surface.permalink(view.channelId, view.messageTs).catch(() => null) : null;
        return buildAuditSummary(view, { events: timelines.get(view.id) ?? [], threadLink });
      }),
    );
  }

  async function channelSummaries(effects: EffectRow[]): Promise<void> {
    const views = await deps.loadViews(effects.map((effect) => effect.requestId!));
    if (views.length === 0) return;
    const channelId = views[0].channelId;
    const archived = await deps.channelArchived(channelId);
    try {
      await deliverSummaries(summaryDestination(channelId, { archived, securityChannel: deps.securityChannel }), views);
    } catch (err) {
      // Archived before Breakglass heard of it: Slack says so, and the summaries go where an archived channel's go.
      if (archived || slackErrorCode(err) !== 'is_archived') rethrowForRunner(err, 'posting the audit summary');
      await deliverSummaries(summaryDestination(channelId, { archived: true, securityChannel: deps.securityChannel }), views);
    }
  }

  async function deliverSummaries(destination: SummaryDestination, views: RequestView[]): Promise<void> {
    // All of one channel (the lane), posted in order. A crash part-way posts the first ones again (at least once).
    if (destination.channel) {
      for (const message of await channelMessages(views)) {
        try {
          await surface.postChannelSummary(destination.channel, message);
        } catch (err) {
          if (slackErrorCode(err) === 'is_archived') throw err;
          rethrowForRunner(err, 'posting the audit summary');
        }
      }
    }
    if (destination.toRequesters) {
      const messages = await summaries(views);
      for (const [index, view] of views.entries()) await sendDirectMessage(view.requesterId, messages[index], 'sending the audit summary by DM');
    }
  }

  /** A few: their full summaries, merged within Slack's block limit. Many: a digest naming each, linking to its
   * thread. */
  async function channelMessages(views: RequestView[]): Promise<SlackMessage[]> {
    if (views.length <= FULL_SUMMARIES_AT_MOST) {
      const messages = await summaries(views);
      return groupWithinBlockLimit(messages.map((message) => ({ message }))).map((group) => mergeSummaries(group.map(({ message }) => message)));
    }
    const entries = await Promise.all(
      views.map(async (view) => ({ view, threadLink: view.messageTs ? await surface.permalink(view.channelId, view.messageTs).catch(() => null) : null })),
    );
    return buildChannelDigests(entries);
  }

  /** In the request's thread, and in the security channel where there is one. */
  async function driftAlert([effect]: EffectRow[]): Promise<void> {
    await threadNotice([effect]);
    if (!deps.securityChannel) return;
    const view = await deps.loadView(effect.requestId!);
    const message = await renderNotice(view, effect.payload as ThreadNotice);
    try {
      if (message) await surface.postMessage(deps.securityChannel, message);
    } catch (err) {
      rethrowForRunner(err, 'posting the drift alert');
    }
  }

  async function directMessage([effect]: EffectRow[]): Promise<void> {
    const view = await deps.loadView(effect.requestId!);
    const message = await renderDirectMessage(view, effect.payload as DirectMessage);
    if (!message) return;
    try {
      await surface.sendDirectMessage(view.requesterId, message);
    } catch (err) {
      rethrowForRunner(err, 'sending a direct message');
    }
  }

  async function renderDirectMessage(view: RequestView, dm: DirectMessage): Promise<SlackMessage | null> {
    switch (dm.message) {
      case 'granted':
        return grantedDirectMessage(view);
      case 'reminder': {
        const options = await deps.reminderOptions(view);
        return options ? buildReminderMessage(view, options) : null;
      }
      case 'extension_outcome': {
        const extension = await deps.loadExtension(dm.extensionId);
        return extension ? extensionOutcomeNotice(view, extension) : null;
      }
    }
  }

  return {
    'request.post': { deliver: postRequest },
    'request.refresh': { deliver: refresh, batch: 50 },
    'thread.notice': { deliver: threadNotice },
    'channel.summary': { deliver: channelSummaries, batch: SUMMARY_BATCH },
    'dm.requester': { deliver: directMessage },
    'drift.alert': { deliver: driftAlert },
  };
}
