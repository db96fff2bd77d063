import type { KnownBlock, View, WebClient } from '@slack/web-api';

/** A message as the bot sends it: Block Kit plus the fallback text shown in notifications. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** The narrow part of Slack the services use. Only this file talks to WebClient. */
export interface SlackSurface {
  postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<{ ts: string }>;
  updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, userId: string, message: SlackMessage | string): Promise<void>;
  sendDirectMessage(userId: string, message: SlackMessage): Promise<void>;
  openModal(triggerId: string, view: View): Promise<void>;
  updateModal(viewId: string, view: View, hash?: string): Promise<void>;
  getUserEmail(userId: string): Promise<string | null>;
  listUserGroupMembers(groupId: string): Promise<string[]>;
}

export class WebClientSurface implements SlackSurface {
  constructor(private readonly client: WebClient) {}

  async postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<{ ts: string }> {
    const result = await this.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, thread_ts: threadTs });
    return { ts: String(result.ts) };
  }

  async updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks });
  }

  async postEphemeral(channel: string, userId: string, message: SlackMessage | string): Promise<void> {
    const { text, blocks } = typeof message === 'string' ? { text: message, blocks: undefined } : message;
    await this.client.chat.postEphemeral({ channel, user: userId, text, blocks });
  }

  async sendDirectMessage(userId: string, message: SlackMessage): Promise<void> {
    const opened = await this.client.conversations.open({ users: userId });
    const channel = opened.channel?.id;
    if (!channel) throw new Error(`conversations.open returned no channel for ${userId}`);
    await this.client.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
  }

  async openModal(triggerId: string, view: View): Promise<void> {
    await this.client.views.open({ trigger_id: triggerId, view });
  }

  async updateModal(viewId: string, view: View, hash?: string): Promise<void> {
    await this.client.views.update({ view_id: viewId, view, hash });
  }

  async getUserEmail(userId: string): Promise<string | null> {
    const result = await this.client.users.info({ user: userId });
    return result.user?.profile?.email ?? null;
  }

  async listUserGroupMembers(groupId: string): Promise<string[]> {
    const result = await this.client.usergroups.users.list({ usergroup: groupId });
    return result.users ?? [];
  }
}
