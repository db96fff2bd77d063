import { retryPolicies, WebClient, type HomeView, type Logger, type View, type WebClientOptions } from '@slack/web-api';
import { ChannelPacer } from './channel-pacer';
import type { SlackMessage } from './blocks/message';
import type { SlackAccount } from '../domain/people';
import { messagePermalink } from '../domain/permalink';
import { retryWhenRateLimited } from './rate-limit-retry';

export type { SlackMessage } from './blocks/message';

/** The narrow part of Slack the services use. Only this file talks to WebClient. */
export interface SlackSurface {
  postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<{ ts: string }>;
  /** A top-level message the channel should read first (audit summaries): paced like any post, but ahead of the
   * thread replies waiting for that channel. */
  postChannelSummary(channel: string, message: SlackMessage): Promise<{ ts: string }>;
  updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, userId: string, message: SlackMessage | string): Promise<void>;
  sendDirectMessage(userId: string, message: SlackMessage): Promise<void>;
  openModal(triggerId: string, view: View): Promise<void>;
  updateModal(viewId: string, view: View, hash?: string): Promise<void>;
  /** Replaces the user's App Home tab. */
  publishHome(userId: string, view: HomeView): Promise<void>;
  /** What users.info says about the account: its e-mail address and whether it is a full member (guest, external,
   * deactivated, bot). Throws when Slack does not answer. */
  getAccount(userId: string): Promise<SlackAccount>;
  /** A link to a message, or null when Slack cannot say where the workspace lives right now. */
  permalink(channel: string, ts: string): Promise<string | null>;
  listUserGroupMembers(groupId: string): Promise<string[]>;
  /** The Slack user with this e-mail address (users.lookupByEmail, scope users:read.email), or null when none has it. */
  lookupUserByEmail(email: string): Promise<string | null>;
}

/** One WebClient per urgency, so a rate-limited or retrying post never holds up an answer someone is waiting for. */
export interface SlackClients {
  /** Modals, ephemerals and the lookups deciding a click. */
  interactive: WebClient;
  /** Messages, their updates and DMs. */
  posting: WebClient;
}

/** Someone is waiting (and a trigger_id dies after 3 s): one quick retry, and a 429 fails the call at once instead
 * of pausing the client for Retry-After, which would also stall every other user's modal. */
const INTERACTIVE_OPTIONS: WebClientOptions = { retryConfig: { retries: 1 }, rejectRateLimitedCalls: true };

/** Retried for about 30 minutes, so posts go out once Slack is back from an outage; the waits between tries do not
 * keep a stopped bot's process alive (`unref`). 429s are rejected by the client and waited out per channel or per
 * call instead (ChannelPacer, retryWhenRateLimited): WebClient's own handling would pause every post to every channel. */
const POSTING_OPTIONS: WebClientOptions = {
  retryConfig: { ...retryPolicies.tenRetriesInAboutThirtyMinutes, unref: true },
  rejectRateLimitedCalls: true,
};

/** A WebClient that reports each call failing after its own retries (metrics); every method goes through apiCall. */
class ObservedWebClient extends WebClient {
  constructor(
    token: string,
    options: WebClientOptions,
    private readonly onCallFailed: (method: string, error: unknown) => void,
  ) {
    super(token, options);
  }

  override async apiCall(method: string, options?: Record<string, unknown>) {
    try {
      return await super.apiCall(method, options);
    } catch (err) {
      this.onCallFailed(method, err);
      throw err;
    }
  }
}

export class WebClientSurface implements SlackSurface {
  private readonly interactive: WebClient;
  private readonly posting: WebClient;
  private readonly pacer: ChannelPacer;
  /** The workspace's URL (auth.test), asked once: permalinks are built from it rather than one chat.getPermalink
   * call per summary, which would be rate-limited when many grants end together. */
  private workspaceUrl: Promise<string | null> | null = null;

  /** `postIntervalMs`: the least time between two posts to one channel (Slack allows about one a second). */
  constructor(clients: SlackClients, { postIntervalMs = 1000 }: { postIntervalMs?: number } = {}) {
    this.interactive = clients.interactive;
    this.posting = clients.posting;
    this.pacer = new ChannelPacer(async (channel, message, threadTs) => {
      const result = await this.posting.chat.postMessage({ channel, text: message.text, blocks: message.blocks, thread_ts: threadTs });
      return { ts: String(result.ts) };
    }, postIntervalMs);
  }

  static fromToken(
    token: string,
    options: { slackApiUrl?: string; logger?: Logger; postIntervalMs?: number; onCallFailed?: (method: string, error: unknown) => void } = {},
  ): WebClientSurface {
    const { slackApiUrl, logger, postIntervalMs, onCallFailed = () => {} } = options;
    const clients = {
      interactive: new ObservedWebClient(token, { slackApiUrl, logger, ...INTERACTIVE_OPTIONS }, onCallFailed),
      posting: new ObservedWebClient(token, { slackApiUrl, logger, ...POSTING_OPTIONS }, onCallFailed),
    };
    return new WebClientSurface(clients, { postIntervalMs });
  }

  postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<{ ts: string }> {
    return this.pacer.post(channel, message, threadTs);
  }

  postChannelSummary(channel: string, message: SlackMessage): Promise<{ ts: string }> {
    return this.pacer.post(channel, message, undefined, { first: true });
  }

  /** Not paced: chat.update is Tier 3 rather than one-a-second per channel, and waiting behind a channel's queued
   * thread replies would leave stale buttons up. RequestNotifier already orders the updates of one message. */
  async updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await retryWhenRateLimited(() => this.posting.chat.update({ channel, ts, text: message.text, blocks: message.blocks }));
  }

  async postEphemeral(channel: string, userId: string, message: SlackMessage | string): Promise<void> {
    const { text, blocks } = typeof message === 'string' ? { text: message, blocks: undefined } : message;
    await this.interactive.chat.postEphemeral({ channel, user: userId, text, blocks });
  }

  async sendDirectMessage(userId: string, message: SlackMessage): Promise<void> {
    const opened = await retryWhenRateLimited(() => this.posting.conversations.open({ users: userId }));
    const channel = opened.channel?.id;
    if (!channel) throw new Error(`conversations.open returned no channel for ${userId}`);
    await this.pacer.post(channel, message);
  }

  async openModal(triggerId: string, view: View): Promise<void> {
    await this.interactive.views.open({ trigger_id: triggerId, view });
  }

  async updateModal(viewId: string, view: View, hash?: string): Promise<void> {
    await this.interactive.views.update({ view_id: viewId, view, hash });
  }

  async permalink(channel: string, ts: string): Promise<string | null> {
    this.workspaceUrl ??= this.posting.auth.test().then(
      (result) => result.url ?? null,
      () => null,
    );
    const base = await this.workspaceUrl;
    if (!base) {
      this.workspaceUrl = null; // try again next time
      return null;
    }
    return messagePermalink(base, channel, ts);
  }

  /** On the interactive client: a Home is re-rendered from the database each time, so a rate-limited publish is
   * dropped (and logged by the caller) rather than queued behind posts. */
  async publishHome(userId: string, view: HomeView): Promise<void> {
    await this.interactive.views.publish({ user_id: userId, view });
  }

  async getAccount(userId: string): Promise<SlackAccount> {
    const { user } = await this.interactive.users.info({ user: userId });
    if (!user) throw new Error(`users.info returned no user for ${userId}`);
    return {
      id: userId,
      email: user.profile?.email || null,
      deleted: user.deleted === true,
      isBot: user.is_bot === true,
      isAppUser: user.is_app_user === true,
      isRestricted: user.is_restricted === true,
      isUltraRestricted: user.is_ultra_restricted === true,
      isStranger: user.is_stranger === true,
    };
  }

  async listUserGroupMembers(groupId: string): Promise<string[]> {
    const result = await this.interactive.usergroups.users.list({ usergroup: groupId });
    return result.users ?? [];
  }

  async lookupUserByEmail(email: string): Promise<string | null> {
    try {
      const { user } = await this.interactive.users.lookupByEmail({ email });
      return user?.id ?? null;
    } catch (err) {
      if ((err as { data?: { error?: string } }).data?.error === 'users_not_found') return null;
      throw err;
    }
  }
}
