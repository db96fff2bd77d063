import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type GrantTarget, ProviderError } from '../../src/providers/types';
import {
  signWebhookBody,
  verifyWebhookSignature,
  WebhookProvider,
  type WebhookPayload,
} from '../../src/providers/webhook-provider';

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
  answer: Answer = (_payload, response) => response.writeHead(204).end();
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      if (!verifyWebhookSignature(secret, rawBody, request.headers['x-breakglass-signature'])) {
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

describe('signWebhookBody / verifyWebhookSignature', () => {
  it('signs the raw bytes with HMAC-SHA256 and verifies in both directions', () => {
    const body = '{"action":"grant"}';
    const expected = `sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`;
    expect(signWebhookBody('k', body)).toBe(expected);
    expect(signWebhookBody('k', Buffer.from(body))).toBe(expected);
    expect(verifyWebhookSignature('k', body, expected)).toBe(true);
    expect(verifyWebhookSignature('k', `${body} `, expected)).toBe(false);
    expect(verifyWebhookSignature('other', body, expected)).toBe(false);
    expect(verifyWebhookSignature('k', body, expected.replace('sha256=', ''))).toBe(false);
    expect(verifyWebhookSignature('k', body, 'sha256=abc')).toBe(false);
    expect(verifyWebhookSignature('k', body, undefined)).toBe(false);
    expect(verifyWebhookSignature('k', body, [expected])).toBe(false);
  });
});

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
    expect(grant.headers['x-breakglass-signature']).toBe(signWebhookBody(secret, grant.rawBody));
    const timestamp = Number(grant.headers['x-breakglass-timestamp']);
    expect(Number.isInteger(timestamp)).toBe(true);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
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
      response
        .writeHead(503, { 'Content-Type': 'text/html' })
        .end(`<html>\n<body>\r\n\tupstream down, key ${secret}\n${'x'.repeat(5_000)}</body></html>`);
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
    receiver.answer = (payload, response) =>
      payload.action === 'verify' ? json(response, 200, { granted }) : response.writeHead(204).end();
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
    receiver.answer = (payload, response) =>
      payload.action === 'verify' ? json(response, status, { error: 'unsupported' }) : response.writeHead(200).end();
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
    receiver.answer = (payload, response) =>
      payload.action === 'verify' ? response.writeHead(404).end() : response.writeHead(500).end();
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
