import type { RequestView } from '../../src/domain/request-view';
import { buildChannelDigests, DIGEST_MAX_BLOCKS, DIGEST_MAX_CHARS, type DigestEntry } from '../../src/slack/blocks/channel-digest';
import { requestView } from '../support/request-view';

const ENDED = new Date('2026-03-01T10:30:00Z');

function entry(number: number, overrides: Partial<RequestView> = {}): DigestEntry {
  const view = requestView({
    id: `00000000-0000-4000-8000-${String(number).padStart(12, '0')}`,
    humanId: `BG-${number}`,
    status: 'EXPIRED',
    durationSeconds: 1800,
    reason: '<!channel> *reason* never shown',
    ticket: null,
    messageTs: `1772359000.${String(number).padStart(6, '0')}`,
    requiredApprovals: 1,
    grantedAt: new Date('2026-03-01T10:00:00Z'),
    expiresAt: ENDED,
    endedAt: ENDED,
    endReason: 'expired',
    ...overrides,
  });
  return { view, threadLink: view.messageTs ? `https://acme.slack.com/archives/C0INCIDENT/p${view.messageTs.replace('.', '')}` : null };
}

const blockText = (block: any): string => [block.text?.text ?? '', ...(block.elements ?? []).map((element: any) => element.text ?? '')].join('');

describe('channel digest of ended grants', () => {
  it('names each grant once, linking to its thread, with what ended and how', () => {
    const [message] = buildChannelDigests([entry(1), entry(2, { endReason: 'revoked', roleId: 'read' })]);
    expect(message.text).toBe('Audit summaries: access ended for 2 grants: BG-1, BG-2');
    const text = message.blocks.map(blockText).join('\n');
    expect(text).toContain('<https://acme.slack.com/archives/C0INCIDENT/p1772359000000001|BG-1> `write` on `payments-db` for <@U0REQUESTER>: expired\n');
    expect(text).toContain('|BG-2> `read` on `payments-db` for <@U0REQUESTER>: revoked early');
    expect(text).not.toContain('never shown'); // the reason is in the thread's full summary, not here
    expect(text).toContain('Ended <!date^1772361000^{date_short_pretty} {time_secs}|2026-03-01 10:30:00 UTC>.');
  });

  it('splits 200 grants of one channel into messages within Slack limits, every grant in exactly one, in order', () => {
    const numbers = Array.from({ length: 200 }, (_, index) => 10_000 + index);
    const messages = buildChannelDigests(numbers.map((number) => entry(number)));
    expect(messages.length).toBeGreaterThan(1);
    // ~130 characters a line, 12,000 a message: at one post a second, the channel has seen all 200 within 3 s.
    expect(messages.length).toBeLessThanOrEqual(3);
    const named: number[] = [];
    for (const [index, message] of messages.entries()) {
      expect(message.blocks.length).toBeLessThanOrEqual(DIGEST_MAX_BLOCKS);
      expect(message.blocks.map(blockText).join('').length).toBeLessThanOrEqual(DIGEST_MAX_CHARS);
      for (const block of message.blocks) expect(blockText(block).length).toBeLessThanOrEqual(block.type === 'header' ? 150 : 3000);
      expect(blockText(message.blocks[0])).toContain(`(${index + 1} of ${messages.length})`);
      named.push(...[...message.text.matchAll(/BG-(\d+)/g)].map((match) => Number(match[1])));
      const linked = [...JSON.stringify(message.blocks).matchAll(/\|BG-(\d+)>/g)].map((match) => Number(match[1]));
      expect(linked).toEqual([...message.text.matchAll(/BG-(\d+)/g)].map((match) => Number(match[1])));
    }
    expect(named).toEqual(numbers);
  });

  it('keeps to the block limit when lines are short, and names a grant without a thread without a link', () => {
    const messages = buildChannelDigests(Array.from({ length: 1_000 }, (_, index) => entry(index + 1, { messageTs: null })).map(({ view }) => ({ view, threadLink: null })));
    for (const message of messages) {
      expect(message.blocks.length).toBeLessThanOrEqual(DIGEST_MAX_BLOCKS);
      expect(message.blocks.map(blockText).join('').length).toBeLessThanOrEqual(DIGEST_MAX_CHARS);
    }
    expect(messages.flatMap((message) => [...message.text.matchAll(/BG-(\d+)/g)])).toHaveLength(1_000);
    expect(JSON.stringify(messages[0].blocks)).toContain('• BG-1 `write`');
  });
});
