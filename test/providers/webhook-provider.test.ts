import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GrantTarget, ProviderError } from '../../src/providers/types';
import { WebhookProvider, type WebhookPayload } from '../../src/providers/webhook-provider';
import { verifyWebhook } from '../../src/webhook-verifier';
import { WebhookReceiver } from '../support/webhook-receiver';

const secret = 'receiver-shared-secret-0123456789';

interface ReceivedCall {
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  payload: WebhookPayload;
}

type Answer = (payload: WebhookPayload, response: http.ServerResponse) => void;

/** A real HTTP receiver: checks the signature on the raw bytes as received, records calls, then answers. */
class Receiver {
  readonly calls: ReceivedCall[] = [];
  /** Whether the body-only signature of the `legacySignature` option is accepted. */
  allowLegacy = false;
  answer: Answer = (_payload, response) => response.writeHead(204).end();
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      if (!verifyWebhook(rawBody, request.headers, { secret, allowLegacy: this.allowLegacy }).ok) {
        response.writeHead(401, { 'Content-Type': 'text/plain' }).end('bad signature');
        return;
      }
      const payload = JSON.parse(rawBody.toString('utf8')) as WebhookPayload;
      this.calls.push({ headers: request.headers, rawBody, payload });
      this.answer(payload, response);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/breakglass`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections(); // including requests the "never answers" receiver left hanging
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

const target: GrantTarget = {
  requestId: 'req-42',
  requestNumber: 42,
  slackId: 'U0ALICE',
  login: 'alice',
  resourceId: 'payments-db',
  roleId: 'write',
  grant: 'payments_write',
  expiresAt: new Date('2026-11-21T12:30:00.000Z'),
  reason: 'INC-7: stuck payouts — “fix” ümlauts',
  ticket: 'INC-7',
};

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

let receiver: Receiver;
let url: string;

beforeEach(async () => {
  receiver = new Receiver();
  url = await receiver.start();
});

afterEach(async () => {
  await receiver.stop();
});

/** The header a v1 signature must have: t=<timestamp>,v1=<HMAC of "<timestamp>.<body>">, worked out here independently. */
function expectV1Signature(call: ReceivedCall, notBefore: number, notAfter: number): void {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(call.headers['x-breakglass-signature']));
  expect(match).not.toBeNull();
  const timestamp = Number(match![1]);
  expect(timestamp).toBeGreaterThanOrEqual(notBefore);
  expect(timestamp).toBeLessThanOrEqual(notAfter);
  expect(match![2]).toBe(createHmac('sha256', secret).update(`${timestamp}.`).update(call.rawBody).digest('hex'));
}

describe('WebhookProvider', () => {
  it('POSTs signed grant and revoke payloads', async () => {
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    const before = Math.floor(Date.now() / 1000);
    await provider.grant(target);
    await provider.revoke(target);
    const after = Math.floor(Date.now() / 1000);

    expect(receiver.calls.map((call) => call.payload.action)).toEqual(['grant', 'revoke']);
    const [grant] = receiver.calls;
    expect(grant.payload).toEqual({
      action: 'grant',
      idempotencyKey: 'req-42:grant',
      requestId: 'req-42',
      user: { slackId: 'U0ALICE', login: 'alice' },
      resource: 'payments-db',
      role: 'write',
      grant: 'payments_write',
      expiresAt: '2026-11-21T12:30:00.000Z',
      reason: 'INC-7: stuck payouts — “fix” ümlauts',
      ticket: 'INC-7',
    });
    expect(grant.headers['content-type']).toBe('application/json');
    for (const call of receiver.calls) expectV1Signature(call, before, after);
    // The timestamp is inside the signature now; the unsigned header belongs to the legacy form only.
    expect(grant.headers['x-breakglass-timestamp']).toBeUndefined();
  });

  it('signs the old way (body only, unsigned timestamp) with legacySignature, for receivers not upgraded yet', async () => {
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000, legacySignature: true });
    const before = Math.floor(Date.now() / 1000);
    await expect(provider.grant(target)).rejects.toThrow('webhook answered 401: bad signature');
    receiver.allowLegacy = true;
    await provider.grant(target);
    const [grant] = receiver.calls;
    expect(grant.headers['x-breakglass-signature']).toBe(`sha256=${createHmac('sha256', secret).update(grant.rawBody).digest('hex')}`);
    expect(Number(grant.headers['x-breakglass-timestamp'])).toBeGreaterThanOrEqual(before);
  });

  it('fails with ProviderError when the receiver rejects the signature', async () => {
    const provider = new WebhookProvider({ url, secret: 'not-the-receivers-secret', timeoutMs: 2_000 });
    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('webhook answered 401: bad signature');
    expect(error.message).not.toContain('not-the-receivers-secret');
    expect(receiver.calls).toHaveLength(0);
  });

  it('turns a non-2xx answer into a short, single-line ProviderError without the secret', async () => {
    receiver.answer = (_payload, response) =>
      response.writeHead(503, { 'Content-Type': 'text/html' }).end(`<html>\n<body>\r\n\tupstream down, key ${secret}\n${'x'.repeat(5_000)}</body></html>`);
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    const error = await caught(provider.revoke(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toMatch(/^webhook answered 503: <html> <body> upstream down, key \*\*\* x+…$/);
    expect(error.message).not.toMatch(/[\r\n\t]/);
    expect(error.message.length).toBeLessThan(200);
    expect(error.message).not.toContain(secret);
  });

  it('reports a 3xx as a failure instead of following it', async () => {
    receiver.answer = (_payload, response) => response.writeHead(307, { Location: 'http://127.0.0.1:1/' }).end();
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('webhook answered 307');
  });

  it('times out on a receiver that never answers', async () => {
    receiver.answer = () => undefined;
    const provider = new WebhookProvider({ url, secret, timeoutMs: 200 });
    const started = Date.now();
    const error = await caught(provider.grant(target));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('webhook timed out after 200ms');
  });

  it('times out on a receiver that stalls in the middle of its answer', async () => {
    receiver.answer = (_payload, response) => {
      response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.write('partial');
    };
    const provider = new WebhookProvider({ url, secret, timeoutMs: 200 });
    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('webhook timed out after 200ms');
  });

  it('reports an unreachable receiver without the URL', async () => {
    await receiver.stop();
    const provider = new WebhookProvider({ url: `${url}?token=hunter2`, secret, timeoutMs: 2_000 });
    const error = await caught(provider.grant(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('cannot reach the webhook: ECONNREFUSED');
    receiver = new Receiver(); // afterEach stops a fresh, never-started receiver
    await receiver.start();
  });

  it('verify asks the receiver and trusts its {granted} answer', async () => {
    let granted = true;
    receiver.answer = (payload, response) => (payload.action === 'verify' ? json(response, 200, { granted }) : response.writeHead(204).end());
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });

    expect(await provider.verify(target)).toBe(true); // no grant through us, but the receiver says so
    granted = false;
    await provider.grant(target);
    expect(await provider.verify(target)).toBe(false); // the receiver's answer wins over our memory
    const verifyCall = receiver.calls.find((call) => call.payload.action === 'verify')!;
    expect(verifyCall.payload).toMatchObject({ action: 'verify', requestId: 'req-42', user: { login: 'alice' } });
  });

  it('verify fails on a malformed answer', async () => {
    receiver.answer = (_payload, response) => json(response, 200, { granted: 'yes' });
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    const error = await caught(provider.verify(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('webhook answered verify without a boolean "granted"');
  });

  it.each([404, 501])('verify falls back to the last successful action on %i', async (status) => {
    receiver.answer = (payload, response) => (payload.action === 'verify' ? json(response, status, { error: 'unsupported' }) : response.writeHead(200).end());
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    const other: GrantTarget = { ...target, requestId: 'req-43' };

    expect(await provider.verify(target)).toBe(false);
    await provider.grant(target);
    expect(await provider.verify(target)).toBe(true);
    expect(await provider.verify(other)).toBe(false);
    await provider.revoke(target);
    expect(await provider.verify(target)).toBe(false);
  });

  it('verify does not assume success from a failed grant', async () => {
    receiver.answer = (payload, response) => (payload.action === 'verify' ? response.writeHead(404).end() : response.writeHead(500).end());
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await expect(provider.grant(target)).rejects.toThrow('webhook answered 500');
    expect(await provider.verify(target)).toBe(false);
  });

  it('verify passes other errors on', async () => {
    receiver.answer = (_payload, response) => response.writeHead(502).end();
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await expect(provider.verify(target)).rejects.toThrow(new ProviderError('webhook answered 502'));
  });
});

describe('WebhookProvider idempotency', () => {
  const later = new Date('2026-11-21T13:30:00.000Z');

  it('sends one key per logical change, in the Idempotency-Key header and the signed body', async () => {
    receiver.answer = (payload, response) => (payload.action === 'verify' ? json(response, 200, { granted: true }) : response.writeHead(204).end());
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await provider.grant(target);
    await provider.extend({ ...target, expiresAt: later });
    await provider.verify(target);
    await provider.revoke(target);

    const keys = receiver.calls.map((call) => [call.payload.action, call.headers['idempotency-key'], call.payload.idempotencyKey]);
    expect(keys).toEqual([
      ['grant', 'req-42:grant', 'req-42:grant'],
      ['extend', 'req-42:extend:2026-11-21T13:30:00.000Z', 'req-42:extend:2026-11-21T13:30:00.000Z'],
      ['verify', undefined, undefined], // read-only: nothing to deduplicate
      ['revoke', 'req-42:revoke', 'req-42:revoke'],
    ]);
    for (const call of receiver.calls) expectV1Signature(call, 0, Math.floor(Date.now() / 1000));
  });

  it('repeats the key when the same change is retried, and gives another extension its own', async () => {
    let failuresLeft = 1;
    receiver.answer = (_payload, response) => (failuresLeft-- > 0 ? response.writeHead(503).end() : response.writeHead(204).end());
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await expect(provider.grant(target)).rejects.toThrow('webhook answered 503');
    await provider.grant(target);
    await provider.extend({ ...target, expiresAt: later });
    await provider.extend({ ...target, expiresAt: later });
    await provider.extend({ ...target, expiresAt: new Date('2026-11-21T14:30:00.000Z') });

    expect(receiver.calls.map((call) => call.headers['idempotency-key'])).toEqual([
      'req-42:grant',
      'req-42:grant',
      'req-42:extend:2026-11-21T13:30:00.000Z',
      'req-42:extend:2026-11-21T13:30:00.000Z',
      'req-42:extend:2026-11-21T14:30:00.000Z',
    ]);
  });

  it('POSTs a signed extend with the new expiresAt', async () => {
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await provider.extend({ ...target, expiresAt: later });
    const [extend] = receiver.calls;
    expect(extend.payload).toEqual({
      action: 'extend',
      idempotencyKey: 'req-42:extend:2026-11-21T13:30:00.000Z',
      requestId: 'req-42',
      user: { slackId: 'U0ALICE', login: 'alice' },
      resource: 'payments-db',
      role: 'write',
      grant: 'payments_write',
      expiresAt: '2026-11-21T13:30:00.000Z',
      reason: 'INC-7: stuck payouts — “fix” ümlauts',
      ticket: 'INC-7',
    });
    expect(extend.rawBody.toString('utf8')).toBe(JSON.stringify(extend.payload));
    expect(verifyWebhook(extend.rawBody, extend.headers, { secret })).toMatchObject({ ok: true, scheme: 'v1' });
  });

  it.each([404, 501])('treats extend answered %i as success: the receiver keeps no expiry of its own', async (status) => {
    receiver.answer = (payload, response) => (payload.action === 'extend' ? json(response, status, { error: 'unknown action' }) : response.writeHead(204).end());
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await provider.extend({ ...target, expiresAt: later });
  });

  it('fails an extend the receiver refuses otherwise', async () => {
    receiver.answer = (_payload, response) => json(response, 400, { error: 'expiry too far' });
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    const error = await caught(provider.extend({ ...target, expiresAt: later }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('webhook answered 400: {"error":"expiry too far"}');
  });

  it.each(['done', 'already'])('accepts a 2xx {"result":"%s"} for every change', async (result) => {
    receiver.answer = (_payload, response) => json(response, 200, { result });
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await provider.grant(target);
    await provider.extend({ ...target, expiresAt: later });
    await provider.revoke(target);
  });

  it('accepts a 2xx without a body, with other JSON or with text', async () => {
    const bodies = ['', '{"ok":true}', 'granted'];
    receiver.answer = (_payload, response) => response.writeHead(200).end(bodies.shift());
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    await provider.grant(target);
    await provider.grant(target);
    await provider.grant(target);
  });

  it('fails on a 2xx whose result is neither done nor already', async () => {
    receiver.answer = (_payload, response) => json(response, 200, { result: 'failed', why: `bad key ${secret}` });
    const provider = new WebhookProvider({ url, secret, timeoutMs: 2_000 });
    const error = await caught(provider.revoke(target));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('webhook answered 200 with an unknown result: {"result":"failed","why":"bad key ***"}');
  });

  it('works against a receiver that deduplicates by key and answers "already" for repeats', async () => {
    const deduplicating = new WebhookReceiver(secret);
    await deduplicating.start();
    try {
      const provider = new WebhookProvider({ url: deduplicating.url, secret, timeoutMs: 2_000 });
      await provider.grant(target);
      await provider.grant(target); // a retry, e.g. after our process stopped before recording the first
      await provider.extend({ ...target, expiresAt: later });
      await provider.extend({ ...target, expiresAt: later });
      expect(await provider.verify(target)).toBe(true);
      await provider.revoke(target);
      await provider.revoke(target);
      expect(await provider.verify(target)).toBe(false);

      expect(deduplicating.received.map((hook) => [hook.action, hook.result])).toEqual([
        ['grant', 'done'],
        ['grant', 'already'],
        ['extend', 'done'],
        ['extend', 'already'],
        ['verify', undefined],
        ['revoke', 'done'],
        ['revoke', 'already'],
        ['verify', undefined],
      ]);
      expect(deduplicating.appliedKeys).toEqual(['req-42:grant', 'req-42:extend:2026-11-21T13:30:00.000Z', 'req-42:revoke']);
      expect(deduplicating.received.every((hook) => hook.signatureValid)).toBe(true);
    } finally {
      await deduplicating.stop();
    }
  });

  it('a deduplicating receiver applies the retry of a call that failed', async () => {
    const deduplicating = new WebhookReceiver(secret);
    await deduplicating.start();
    try {
      const provider = new WebhookProvider({ url: deduplicating.url, secret, timeoutMs: 2_000 });
      await provider.grant(target);
      deduplicating.failWith = 503;
      await expect(provider.extend({ ...target, expiresAt: later })).rejects.toThrow('webhook answered 503');
      deduplicating.failWith = null;
      await provider.extend({ ...target, expiresAt: later });
      expect(deduplicating.received.map((hook) => hook.result)).toEqual(['done', undefined, 'done']);
      expect(deduplicating.expiresAt.get('alice:payments-db:write')).toBe('2026-11-21T13:30:00.000Z');
    } finally {
      await deduplicating.stop();
    }
  });
});
