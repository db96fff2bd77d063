import { ErrorCode, type KnownBlock } from '@slack/web-api';
import { ChannelPacer } from '../../src/slack/channel-pacer';
import { MAX_BLOCKS_PER_MESSAGE } from '../../src/slack/summary-batches';
import type { SlackMessage } from '../../src/slack/surface';

/** Jest's fake clock drives the pacer: every assertion is about virtual time, so nothing depends on machine speed. */
const INTERVAL_MS = 1000;

interface Sent {
  channel: string;
  text: string;
  threadTs?: string;
  blocks: KnownBlock[];
  at: number;
}

function rateLimited(retryAfterSeconds: number): Error {
  return Object.assign(new Error('rate limited'), { code: ErrorCode.RateLimitedError, retryAfter: retryAfterSeconds });
}

function message(text: string): SlackMessage {
  return { text, blocks: [{ type: 'section', block_id: 'body', text: { type: 'mrkdwn', text } }] };
}

function summary(name: string, blockCount = 4): SlackMessage {
  const blocks: KnownBlock[] = Array.from({ length: blockCount }, (_, index) => ({
    type: 'section',
    block_id: `part${index}`,
    text: { type: 'mrkdwn', text: `${name} part ${index}` },
  }));
  return { text: `Audit summary ${name}`, blocks };
}

let sent: Sent[];
/** Errors the next sends throw, in order, before sending works again. */
let failures: Error[];
let pacer: ChannelPacer;

const texts = () => sent.map((post) => `${post.channel}:${post.text}`);
/** Lets every timer due by then fire, with the promise callbacks they start. */
const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
  sent = [];
  failures = [];
  pacer = new ChannelPacer(async (channel, { text, blocks }, threadTs) => {
    const failure = failures.shift();
    if (failure) throw failure;
    sent.push({ channel, text, blocks, threadTs, at: Date.now() });
    return { ts: `ts-${sent.length}` };
  }, INTERVAL_MS);
});

afterEach(() => {
  jest.useRealTimers();
});

describe('ChannelPacer', () => {
  it('sends the posts of one channel in order, one per interval, each resolving with its own ts', async () => {
    const posted = [pacer.post('C1', message('a')), pacer.post('C1', message('b'), '111.1'), pacer.post('C1', message('c'))];
    await advance(0);
    expect(texts()).toEqual(['C1:a']);
    await advance(INTERVAL_MS - 1);
    expect(texts()).toEqual(['C1:a']);
    await advance(1);
    expect(texts()).toEqual(['C1:a', 'C1:b']);
    await advance(INTERVAL_MS);
    expect(texts()).toEqual(['C1:a', 'C1:b', 'C1:c']);
    expect(sent.map((post) => post.at)).toEqual([0, INTERVAL_MS, 2 * INTERVAL_MS]);
    expect(sent[1].threadTs).toBe('111.1');
    await expect(Promise.all(posted)).resolves.toEqual([{ ts: 'ts-1' }, { ts: 'ts-2' }, { ts: 'ts-3' }]);
  });

  it('does not hold up other channels', async () => {
    void pacer.post('C1', message('a'));
    void pacer.post('C1', message('b'));
    void pacer.post('C2', message('x'));
    void pacer.post('D1', message('dm'));
    await advance(0);
    expect(texts()).toEqual(['C1:a', 'C2:x', 'D1:dm']);
    await advance(INTERVAL_MS);
    expect(texts()).toEqual(['C1:a', 'C2:x', 'D1:dm', 'C1:b']);
  });

  it('keeps the interval for a post that arrives after the channel went quiet', async () => {
    void pacer.post('C1', message('a'));
    await advance(INTERVAL_MS / 2);
    void pacer.post('C1', message('b'));
    await advance(0);
    expect(texts()).toEqual(['C1:a']);
    await advance(INTERVAL_MS / 2);
    expect(texts()).toEqual(['C1:a', 'C1:b']);
    // Long after, the channel is idle again and posts at once.
    await advance(10 * INTERVAL_MS);
    void pacer.post('C1', message('c'));
    await advance(0);
    expect(texts()).toEqual(['C1:a', 'C1:b', 'C1:c']);
  });

  it('waits Retry-After after a 429 before trying that post again, holding back only its channel', async () => {
    failures.push(rateLimited(5));
    const first = pacer.post('C1', message('a'));
    void pacer.post('C1', message('b'));
    void pacer.post('C2', message('x'));
    await advance(0);
    expect(texts()).toEqual(['C2:x']);
    await advance(5000 - 1);
    expect(texts()).toEqual(['C2:x']);
    await advance(1);
    expect(texts()).toEqual(['C2:x', 'C1:a']);
    await expect(first).resolves.toEqual({ ts: 'ts-2' });
    await advance(INTERVAL_MS);
    expect(texts()).toEqual(['C2:x', 'C1:a', 'C1:b']);
  });

  it('gives up on a post still rate limited after ten waits, and goes on with the next', async () => {
    failures.push(...Array.from({ length: 11 }, () => rateLimited(1)));
    const doomed = pacer.post('C1', message('a'));
    const outcome = doomed.catch((err: unknown) => err);
    void pacer.post('C1', message('b'));
    await advance(10 * 1000);
    expect(await outcome).toMatchObject({ code: ErrorCode.RateLimitedError });
    await advance(INTERVAL_MS);
    expect(texts()).toEqual(['C1:b']);
  });

  it('rejects a post Slack refuses and still sends the next one', async () => {
    failures.push(new Error('channel_not_found'));
    const refused = pacer.post('C1', message('a'));
    const next = pacer.post('C1', message('b'));
    await expect(refused).rejects.toThrow('channel_not_found');
    await advance(INTERVAL_MS);
    await expect(next).resolves.toEqual({ ts: 'ts-1' });
  });
});

describe('ChannelPacer audit summaries', () => {
  it('posts a lone summary as it is', async () => {
    const lone = summary('BG-1');
    await Promise.all([pacer.postSummary('C1', lone), advance(0)]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ channel: 'C1', text: lone.text, blocks: lone.blocks, threadTs: undefined });
  });

  it('merges the summaries waiting in a channel into one message, ahead of other waiting posts', async () => {
    // As when several grants expire together: each has a thread reply and a channel summary.
    const done = [];
    for (const name of ['BG-1', 'BG-2', 'BG-3']) {
      done.push(pacer.post('C1', message(`thread ${name}`), `${name}.ts`));
      done.push(pacer.postSummary('C1', summary(name)));
    }
    done.push(pacer.postSummary('C2', summary('BG-9')));
    await advance(0);
    expect(texts()).toEqual(['C1:thread BG-1', 'C2:Audit summary BG-9']);
    await advance(INTERVAL_MS);
    const merged = sent[2];
    expect(merged.channel).toBe('C1');
    expect(merged.threadTs).toBeUndefined();
    expect(merged.text).toBe('Audit summary BG-1\nAudit summary BG-2\nAudit summary BG-3');
    expect(merged.blocks.map((block) => block.type)).toEqual([
      ...['section', 'section', 'section', 'section', 'divider'],
      ...['section', 'section', 'section', 'section', 'divider'],
      ...['section', 'section', 'section', 'section'],
    ]);
    // Every summary has the same block ids; Slack wants them unique within a message.
    const blockIds = merged.blocks.map((block) => block.block_id).filter(Boolean);
    expect(new Set(blockIds).size).toBe(12);
    await advance(2 * INTERVAL_MS);
    expect(texts().slice(3)).toEqual(['C1:thread BG-2', 'C1:thread BG-3']);
    await expect(Promise.all(done)).resolves.toHaveLength(7);
  });

  it('sends a summary before the thread replies that were queued ahead of it', async () => {
    const done = ['a', 'b', 'c'].map((name) => pacer.post('C1', message(`thread ${name}`), `${name}.ts`));
    done.push(pacer.postSummary('C1', summary('BG-5')).then(() => ({ ts: 'summary' })));
    await advance(0);
    await advance(INTERVAL_MS);
    expect(texts()).toEqual(['C1:thread a', 'C1:Audit summary BG-5']);
    await advance(2 * INTERVAL_MS);
    expect(texts().slice(2)).toEqual(['C1:thread b', 'C1:thread c']);
    await expect(Promise.all(done)).resolves.toHaveLength(4);
  });

  it('splits merged summaries so that no message has more than 50 blocks', async () => {
    void pacer.post('C1', message('busy'));
    const names = Array.from({ length: 12 }, (_, index) => `BG-${index + 1}`);
    const done = names.map((name) => pacer.postSummary('C1', summary(name)));
    await advance(3 * INTERVAL_MS);
    const summaries = sent.slice(1);
    // Ten summaries of four blocks with nine dividers make 49 blocks; an eleventh would not fit.
    expect(summaries.map((post) => post.blocks.length)).toEqual([49, 9]);
    expect(summaries.every((post) => post.blocks.length <= MAX_BLOCKS_PER_MESSAGE)).toBe(true);
    expect(summaries[0].text.split('\n')).toEqual(names.slice(0, 10).map((name) => `Audit summary ${name}`));
    expect(summaries[1].text.split('\n')).toEqual(names.slice(10).map((name) => `Audit summary ${name}`));
    expect(summaries[1].at - summaries[0].at).toBe(INTERVAL_MS);
    await Promise.all(done);
  });

  it('rejects every summary of a merged message Slack refuses', async () => {
    void pacer.post('C1', message('busy'));
    const outcomes = Promise.allSettled([pacer.postSummary('C1', summary('BG-1')), pacer.postSummary('C1', summary('BG-2'))]);
    failures.push(new Error('invalid_blocks'));
    await advance(INTERVAL_MS);
    expect((await outcomes).map((outcome) => outcome.status === 'rejected' && String(outcome.reason))).toEqual([
      'Error: invalid_blocks',
      'Error: invalid_blocks',
    ]);
    expect(texts()).toEqual(['C1:busy']);
  });
});
