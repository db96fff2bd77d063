import type { Logger } from 'pino';
import { isFinal } from '../domain/request-state';
import type { RequestView } from '../domain/request-view';
import { buildApprovalMessage } from '../slack/blocks/approval-message';
import { buildAuditSummary } from '../slack/blocks/audit-summary';
import {
  approvalRecordedNotice,
  credentialsDirectMessage,
  deniedNotice,
  grantedDirectMessage,
  grantedNotice,
  grantFailedNotice,
  revokeRequestedNotice,
  timedOutNotice,
} from '../slack/blocks/notices';
import { buildExtensionMessage, buildReminderMessage, extendedNotice, extensionOutcomeNotice } from '../slack/blocks/extension';
import { buildRevokeAlert, duplicateAlertNotice } from '../slack/blocks/revoke-alert';
import type { ExtensionView } from '../domain/extension-view';
import type { SlackMessage, SlackSurface } from '../slack/surface';
import type { Credentials } from '../providers/types';
import type { TimelineEvent } from './request-queries';

/** Tells Slack what happened to a request. Slack failures are logged and never undo or block a state change:
 * the database is the record, Slack only shows it. */
export class RequestNotifier {
  /** The tail of each request's chain of message updates (see refreshMessage). */
  private readonly pendingRefreshes = new Map<string, Promise<void>>();
  /** Notifications running in the background (see inBackground), so a stop can wait for them. */
  private readonly background = new Set<Promise<void>>();
  /** Told, in the background, about every change reported here (App Home republishing); see onRequestChange. */
  private changeListener: ((view: RequestView) => Promise<void>) | null = null;

  constructor(
    private readonly surface: SlackSurface,
    private readonly logger: Logger,
    /** Re-reads a request when its message is about to be re-rendered. */
    private readonly loadView: (requestId: string) => Promise<RequestView>,
    /** Requests' audit events, for the timelines in their audit summaries. */
    private readonly loadEvents: (requestIds: readonly string[]) => Promise<Map<string, TimelineEvent[]>> = async () => new Map(),
  ) {}

  /** Registers who else wants to hear about request changes. It runs in the background, like Slack posts: it can
   * never delay a revocation or an ack, and its failures are only logged. */
  onRequestChange(listener: (view: RequestView) => Promise<void>): void {
    this.changeListener = listener;
  }

  postRequest(view: RequestView): Promise<{ ts: string }> {
    this.changed(view);
    return this.surface.postMessage(view.channelId, buildApprovalMessage(view));
  }

  async approvalRecorded(view: RequestView, approverId: string): Promise<void> {
    this.changed(view);
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, approvalRecordedNotice(view, approverId))]);
  }

  async granted(view: RequestView): Promise<void> {
    this.changed(view);
    await Promise.all([
      this.refreshMessage(view),
      this.replyInThread(view, grantedNotice(view)),
      this.attempt('dm requester', () => this.surface.sendDirectMessage(view.requesterId, grantedDirectMessage(view))),
    ]);
  }

  async grantFailed(view: RequestView): Promise<void> {
    this.changed(view);
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, grantFailedNotice(view))]);
  }

  async denied(view: RequestView): Promise<void> {
    this.changed(view);
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, deniedNotice(view))]);
  }

  async revokeRequested(view: RequestView, actorId: string): Promise<void> {
    this.changed(view);
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, revokeRequestedNotice(view, actorId))]);
  }

  async timedOut(view: RequestView, requestTtlSeconds: number): Promise<void> {
    this.changed(view);
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, timedOutNotice(view, requestTtlSeconds))]);
  }

  /** The requester extended on their own: the message shows the new end, the thread says so. */
  async extended(view: RequestView, actorId: string, extendBySeconds: number): Promise<void> {
    this.changed(view);
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, extendedNotice(view, actorId, extendBySeconds))]);
  }

  /** Posts an extension request with its buttons in the request's thread; its ts, or null when Slack did not take it
   * (the service then closes the extension, since nobody could act on it). */
  async extensionRequested(view: RequestView, extension: ExtensionView): Promise<string | null> {
    if (!view.messageTs) return null;
    try {
      return (await this.surface.postMessage(view.channelId, buildExtensionMessage(view, extension), view.messageTs)).ts;
    } catch (err) {
      this.logger.warn({ err, extensionId: extension.id }, 'could not post the extension request');
      return null;
    }
  }

  /** An approval, a decision or the outcome of an extension: its message follows; once decided, the thread and the
   * requester hear the outcome and the request message shows the (new) end. */
  async extensionUpdated(view: RequestView, extension: ExtensionView): Promise<void> {
    const calls: Promise<void>[] = [];
    if (extension.messageTs) {
      const ts = extension.messageTs;
      calls.push(this.attempt('update extension message', () => this.surface.updateMessage(view.channelId, ts, buildExtensionMessage(view, extension))));
    }
    if (extension.status !== 'PENDING') {
      this.changed(view);
      const outcome = extensionOutcomeNotice(view, extension);
      calls.push(this.refreshMessage(view), this.replyInThread(view, outcome));
      calls.push(this.attempt('dm extension outcome', () => this.surface.sendDirectMessage(view.requesterId, outcome)));
    }
    await Promise.all(calls);
  }

  /** "Your access ends soon", with Extend and I'm done. */
  async reminder(view: RequestView, options: { maxMoreSeconds: number; approvals: number }): Promise<void> {
    await this.attempt('dm reminder', () => this.surface.sendDirectMessage(view.requesterId, buildReminderMessage(view, options)));
  }

  /** The temporary login goes to the requester alone. Throws when it cannot be delivered: the caller takes the
   * access back rather than leave a login nobody can use. */
  async deliverCredentials(view: RequestView, credentials: Credentials): Promise<void> {
    await this.surface.sendDirectMessage(view.requesterId, credentialsDirectMessage(view, credentials));
  }

  /** Returns the alert's ts, or null when Slack did not take it (logged; the next failure tries again). */
  async postRevokeAlert(view: RequestView, channelId: string, failingCount: number): Promise<string | null> {
    this.changed(view);
    try {
      return (await this.surface.postMessage(channelId, buildRevokeAlert(view, failingCount))).ts;
    } catch (err) {
      this.logger.warn({ err, channelId }, 'could not post the revocation alert');
      return null;
    }
  }

  async updateRevokeAlert(view: RequestView, channelId: string, ts: string, failingCount: number): Promise<void> {
    this.changed(view);
    await this.attempt('update revocation alert', () => this.surface.updateMessage(channelId, ts, buildRevokeAlert(view, failingCount)));
  }

  async retractDuplicateAlert(channelId: string, ts: string): Promise<void> {
    await this.attempt('retract duplicate alert', () => this.surface.updateMessage(channelId, ts, duplicateAlertNotice()));
  }

  /** Runs a notification without making the caller wait for Slack (revocations must not). Failures are logged. */
  inBackground(notify: () => Promise<void>): void {
    const running: Promise<void> = notify()
      .catch((err: unknown) => this.logger.warn({ err }, 'background notification failed'))
      .finally(() => this.background.delete(running));
    this.background.add(running);
  }

  /** Resolves when the background notifications started so far have finished, or after `graceMs` (Slack may be
   * down, and a shutdown must not wait for it; the database already has the record). */
  async idle(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.background]), grace]);
    clearTimeout(timer);
  }

  /** The audit timelines of requests that ended together, in one read, for `ended`. Never throws: without its
   * timeline the summary still goes out, as it is the record people read. */
  async timelinesOf(requestIds: readonly string[]): Promise<Map<string, TimelineEvent[]>> {
    try {
      return await this.loadEvents(requestIds);
    } catch (err) {
      this.logger.warn({ err, requests: requestIds.length }, 'could not load the timelines for the audit summaries');
      return new Map();
    }
  }

  /** Access is gone: the message loses its buttons and the audit summary goes to the channel and the thread.
   * `timeline`: the request's audit events, when the caller loaded them already (timelinesOf). */
  async ended(view: RequestView, timeline?: TimelineEvent[]): Promise<void> {
    this.changed(view);
    // Without its timeline or link the summary still goes out: it is the record people read.
    const [events, threadLink] = await Promise.all([
      timeline ?? this.timelinesOf([view.id]).then((timelines) => timelines.get(view.id) ?? []),
      view.messageTs ? this.surface.permalink(view.channelId, view.messageTs).catch(() => null) : Promise.resolve(null),
    ]);
    const summary = buildAuditSummary(view, { events, threadLink });
    const posts = [this.refreshMessage(view), this.replyInThread(view, summary)];
    if (view.endReason !== 'grant_failed') {
      posts.push(this.attempt('post summary', () => this.surface.postChannelSummary(view.channelId, summary)));
    }
    await Promise.all(posts);
  }

  /** Updates of one message run one after another, each rendering the request as it is at that moment, so a slow
   * update from an earlier click can never overwrite a later state (e.g. put Approve buttons back on an active
   * request). */
  private refreshMessage(view: RequestView): Promise<void> {
    if (!view.messageTs) return Promise.resolve();
    const previous = this.pendingRefreshes.get(view.id) ?? Promise.resolve();
    const next = previous.then(() =>
      this.attempt('update request message', async () => {
        // A request in a final state never changes again, so its view is already what a re-read would return
        // (this spares one read per grant when thousands expire together).
        const current = isFinal(view.status) ? view : await this.loadView(view.id);
        await this.surface.updateMessage(current.channelId, current.messageTs ?? view.messageTs!, buildApprovalMessage(current));
      }),
    );
    this.pendingRefreshes.set(view.id, next);
    void next.then(() => {
      if (this.pendingRefreshes.get(view.id) === next) this.pendingRefreshes.delete(view.id);
    });
    return next;
  }

  private changed(view: RequestView): void {
    const listener = this.changeListener;
    if (listener) this.inBackground(() => listener(view));
  }

  private async replyInThread(view: RequestView, message: SlackMessage): Promise<void> {
    if (!view.messageTs) return;
    const ts = view.messageTs;
    await this.attempt('reply in thread', () => this.surface.postMessage(view.channelId, message, ts));
  }

  private async attempt(what: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      this.logger.warn({ err, what }, 'slack call failed');
    }
  }
}
