import type { KnownBlock } from '@slack/web-api';
import { groupWithinBlockLimit, MAX_BLOCKS_PER_MESSAGE, mergeSummaries } from '../../src/slack/summary-batches';
import type { SlackMessage } from '../../src/slack/blocks/message';

function summary(name: string, blockCount = 4): SlackMessage {
  const blocks: KnownBlock[] = Array.from({ length: blockCount }, (_, index) => ({
    type: 'section',
    block_id: `part${index}`,
    text: { type: 'mrkdwn', text: `${name} part ${index}` },
  }));
  return { text: `Audit summary ${name}`, blocks };
}

describe('audit summaries merged for a channel', () => {
  it('leaves a lone summary as it is', () => {
    const lone = summary('BG-1');
    expect(mergeSummaries([lone])).toBe(lone);
  });

  it('splits summaries so that no merged message has more than 50 blocks, in order', () => {
    const names = Array.from({ length: 12 }, (_, index) => `BG-${index + 1}`);
    const merged = groupWithinBlockLimit(names.map((name) => ({ message: summary(name) }))).map((group) => mergeSummaries(group.map(({ message }) => message)));
    // Ten summaries of four blocks with nine dividers make 49 blocks; an eleventh would not fit.
    expect(merged.map((message) => message.blocks.length)).toEqual([49, 9]);
    expect(merged.every((message) => message.blocks.length <= MAX_BLOCKS_PER_MESSAGE)).toBe(true);
    expect(merged[0].text.split('\n')).toEqual(names.slice(0, 10).map((name) => `Audit summary ${name}`));
    expect(merged[1].text.split('\n')).toEqual(names.slice(10).map((name) => `Audit summary ${name}`));
  });

  it('keeps block ids unique within a merged message', () => {
    const merged = mergeSummaries([summary('BG-1'), summary('BG-2')]);
    const ids = merged.blocks.map((block) => block.block_id).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('splits by characters too: Slack refuses a message whose blocks hold about 13,200 characters', () => {
    const long = (name: string): SlackMessage => ({ text: `Audit summary ${name}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(5_000) } }] });
    const groups = groupWithinBlockLimit(['BG-1', 'BG-2', 'BG-3'].map((name) => ({ message: long(name) })));
    expect(groups.map((group) => group.length)).toEqual([2, 1]);
  });

  it('gives a summary too big on its own a message of its own', () => {
    const groups = groupWithinBlockLimit([{ message: summary('BG-1', 2) }, { message: summary('BG-2', 60) }, { message: summary('BG-3', 2) }]);
    expect(groups.map((group) => group.map(({ message }) => message.text))).toEqual([['Audit summary BG-1'], ['Audit summary BG-2'], ['Audit summary BG-3']]);
  });
});
