import type { KnownBlock } from '@slack/web-api';
import { DIGEST_MAX_CHARS } from './blocks/channel-digest';
import type { SlackMessage } from './blocks/message';

/** Slack rejects a message with more blocks than this. */
export const MAX_BLOCKS_PER_MESSAGE = 50;

const DIVIDER: KnownBlock = { type: 'divider' };

/** Characters of block text in one merged message, at most (Slack refuses about 13,200: see channel-digest.ts). */
const MAX_CHARS_PER_MESSAGE = DIGEST_MAX_CHARS;

const textLength = (message: SlackMessage): number =>
  message.blocks.reduce((total, block) => {
    const text: unknown = 'text' in block ? block.text : undefined;
    return total + (text && typeof text === 'object' && 'text' in text ? String(text.text).length : 0);
  }, 0);

/** Splits summaries, in order, into runs that fit one message once merged (a divider between each), by blocks and
 * by characters. A summary too big on its own still gets a message of its own. */
export function groupWithinBlockLimit<T extends { message: SlackMessage }>(summaries: readonly T[]): T[][] {
  const groups: T[][] = [];
  let blocksInLastGroup = 0;
  let charsInLastGroup = 0;
  for (const summary of summaries) {
    const size = summary.message.blocks.length;
    const chars = textLength(summary.message);
    const last = groups.at(-1);
    if (last && blocksInLastGroup + 1 + size <= MAX_BLOCKS_PER_MESSAGE && charsInLastGroup + chars <= MAX_CHARS_PER_MESSAGE) {
      last.push(summary);
      blocksInLastGroup += 1 + size;
      charsInLastGroup += chars;
    } else {
      groups.push([summary]);
      blocksInLastGroup = size;
      charsInLastGroup = chars;
    }
  }
  return groups;
}

/** One message showing several summaries: their blocks separated by dividers, their fallback texts one per line.
 * A lone summary is returned as it is. */
export function mergeSummaries(summaries: readonly SlackMessage[]): SlackMessage {
  if (summaries.length === 1) return summaries[0];
  return {
    text: summaries.map((summary) => summary.text).join('\n'),
    blocks: summaries.flatMap((summary, index) => [
      ...(index > 0 ? [DIVIDER] : []),
      // Block ids must be unique within a message, and every summary uses the same ones.
      ...summary.blocks.map((block) => (block.block_id ? { ...block, block_id: `${block.block_id}-${index + 1}` } : block)),
    ]),
  };
}
