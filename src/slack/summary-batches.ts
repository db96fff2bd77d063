import type { KnownBlock } from '@slack/web-api';
import type { SlackMessage } from './blocks/message';

/** Slack rejects a message with more blocks than this. */
export const MAX_BLOCKS_PER_MESSAGE = 50;

const DIVIDER: KnownBlock = { type: 'divider' };

/** Splits summaries, in order, into runs that fit one message once merged (a divider between each). A summary too
 * big on its own still gets a message of its own. */
export function groupWithinBlockLimit<T extends { message: SlackMessage }>(summaries: readonly T[]): T[][] {
  const groups: T[][] = [];
  let blocksInLastGroup = 0;
  for (const summary of summaries) {
    const size = summary.message.blocks.length;
    const last = groups.at(-1);
    if (last && blocksInLastGroup + 1 + size <= MAX_BLOCKS_PER_MESSAGE) {
      last.push(summary);
      blocksInLastGroup += 1 + size;
    } else {
      groups.push([summary]);
      blocksInLastGroup = size;
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
