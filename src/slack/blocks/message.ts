import type { KnownBlock } from '@slack/web-api';

/** A message as the bot sends it: Block Kit plus the fallback text shown in notifications. Lives beside the
 * builders that make it, so they depend on nothing outside src/slack/blocks and src/domain. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}
