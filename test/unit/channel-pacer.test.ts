import { ErrorCode, type KnownBlock } from '@slack/web-api';
import { ChannelPacer } from '../../src/slack/channel-pacer';
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

describe('ChannelPacer: posts that go first', () => {
  it('sends a channel summary ahead of the thread replies waiting in its channel, keeping the order of each kind', async () => {
    const done = [pacer.post('C1', message('busy'))];
    done.push(pacer.post('C1', message('reply 1'), 'T1'), pacer.post('C1', message('reply 2'), 'T2'));
    done.push(pacer.post('C1', message('summary A'), undefined, { first: true }), pacer.post('C1', message('summary B'), undefined, { first: true }));
    done.push(pacer.post('C2', message('other channel')));
    await advance(5 * INTERVAL_MS);
    await Promise.all(done);
    expect(sent.filter((post) => post.channel === 'C1').map((post) => post.text)).toEqual(['busy', 'summary A', 'summary B', 'reply 1', 'reply 2']);
    expect(texts()).toContain('C2:other channel');
  });
});
