import type { Logger } from 'pino';
import type { RequestView } from '../domain/request-view';
import { buildApprovalMessage } from '../slack/blocks/approval-message';
import { buildAuditSummary } from '../slack/blocks/audit-summary';
import {
  approvalRecordedNotice,
  deniedNotice,
  grantedDirectMessage,
  grantedNotice,
  grantFailedNotice,
  revokeRequestedNotice,
} from '../slack/blocks/notices';
import type { SlackMessage, SlackSurface } from '../slack/surface';

/** Tells Slack what happened to a request. Slack failures are logged and never undo or block a state change:
 * the database is the record, Slack only shows it. */
export class RequestNotifier {
  constructor(
    private readonly surface: SlackSurface,
    private readonly logger: Logger,
  ) {}

  postRequest(view: RequestView): Promise<{ ts: string }> {
    return this.surface.postMessage(view.channelId, buildApprovalMessage(view));
  }

  async approvalRecorded(view: RequestView, approverId: string): Promise<void> {
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, approvalRecordedNotice(view, approverId))]);
  }

  async granted(view: RequestView): Promise<void> {
    await Promise.all([
      this.refreshMessage(view),
      this.replyInThread(view, grantedNotice(view)),
      this.attempt('dm requester', () => this.surface.sendDirectMessage(view.requesterId, grantedDirectMessage(view))),
    ]);
  }

  async grantFailed(view: RequestView): Promise<void> {
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, grantFailedNotice(view))]);
  }

  async denied(view: RequestView): Promise<void> {
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, deniedNotice(view))]);
  }

  async revokeRequested(view: RequestView, actorId: string): Promise<void> {
    await Promise.all([this.refreshMessage(view), this.replyInThread(view, revokeRequestedNotice(view, actorId))]);
  }

  /** Access is gone: the message loses its buttons and the audit summary goes to the channel and the thread. */
  async ended(view: RequestView): Promise<void> {
    const summary = buildAuditSummary(view);
    const posts = [this.refreshMessage(view), this.replyInThread(view, summary)];
    if (view.endReason !== 'grant_failed') {
      posts.push(this.attempt('post summary', () => this.surface.postMessage(view.channelId, summary)));
    }
    await Promise.all(posts);
  }

  private async refreshMessage(view: RequestView): Promise<void> {
    if (!view.messageTs) return;
    const ts = view.messageTs;
    await this.attempt('update request message', () => this.surface.updateMessage(view.channelId, ts, buildApprovalMessage(view)));
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
