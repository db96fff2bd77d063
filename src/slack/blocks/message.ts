import type { KnownBlock } from '@slack/web-api';

/** A message as the bot sends it: Block Kit plus the fallback text shown in notifications. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}
