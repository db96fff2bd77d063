import { createHmac } from 'node:crypto';
import { legacySignatureHeader, signatureHeader, verifyWebhook } from '../../src/webhook-verifier';

const secret = 'receiver-shared-secret';
const body = '{"action":"grant","idempotencyKey":"r1:grant"}';
const signedAt = 1_800_000_000;
const at = (seconds: number) => seconds * 1000;

/** The v1 header worked out here, independently of the module. */
function v1(timestamp: number, text = body, key = secret): string {
  return `t=${timestamp},v1=${createHmac('sha256', key).update(`${timestamp}.${text}`).digest('hex')}`;
}

describe('signatureHeader', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">, for text and bytes alike', () => {
    expect(signatureHeader(secret, body, signedAt)).toBe(v1(signedAt));
    expect(signatureHeader(secret, Buffer.from(body), signedAt)).toBe(v1(signedAt));
  });
});

describe('verifyWebhook', () => {
  const headers = (signature: string, extra: Record<string, string> = {}) => ({ 'x-breakglass-signature': signature, ...extra });

  it('accepts a fresh, untampered call, from Node headers or fetch Headers', () => {
    expect(verifyWebhook(body, headers(v1(signedAt)), { secret, now: at(signedAt + 2) })).toEqual({ ok: true, scheme: 'v1', timestamp: signedAt });
    expect(verifyWebhook(Buffer.from(body), new Headers({ 'X-Breakglass-Signature': v1(signedAt) }), { secret, now: at(signedAt) })).toMatchObject({ ok: true });
  });

  it('refuses a tampered body, a wrong secret and a timestamp changed after signing', () => {
    expect(verifyWebhook(body.replace('grant', 'revok'), headers(v1(signedAt)), { secret, now: at(signedAt) })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhook(body, headers(v1(signedAt)), { secret: 'another-secret', now: at(signedAt) })).toEqual({ ok: false, reason: 'mismatch' });
    const moved = v1(signedAt).replace(`t=${signedAt}`, `t=${signedAt + 600}`);
    expect(verifyWebhook(body, headers(moved), { secret, now: at(signedAt + 600) })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses a call more than 5 minutes old or more than 5 minutes in the future', () => {
    expect(verifyWebhook(body, headers(v1(signedAt)), { secret, now: at(signedAt + 300) })).toMatchObject({ ok: true });
    expect(verifyWebhook(body, headers(v1(signedAt)), { secret, now: at(signedAt + 301) })).toEqual({ ok: false, reason: 'too-old' });
    expect(verifyWebhook(body, headers(v1(signedAt)), { secret, now: at(signedAt - 300) })).toMatchObject({ ok: true });
    expect(verifyWebhook(body, headers(v1(signedAt)), { secret, now: at(signedAt - 301) })).toEqual({ ok: false, reason: 'in-the-future' });
    expect(verifyWebhook(body, headers(v1(signedAt)), { secret, now: at(signedAt + 61), toleranceSeconds: 60 })).toEqual({ ok: false, reason: 'too-old' });
  });

  it('accepts any of several v1 signatures and any of several secrets, for rotating the secret', () => {
    const old = v1(signedAt, body, 'old-secret');
    const both = `${old},v1=${v1(signedAt).split('v1=')[1]}`;
    expect(verifyWebhook(body, headers(both), { secret, now: at(signedAt) })).toMatchObject({ ok: true });
    expect(verifyWebhook(body, headers(old), { secret: ['new-secret', 'old-secret'], now: at(signedAt) })).toMatchObject({ ok: true });
    expect(verifyWebhook(body, headers(old), { secret: ['new-secret'], now: at(signedAt) })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('skips schemes it does not know, and refuses what it cannot read', () => {
    expect(verifyWebhook(body, headers(`${v1(signedAt)},v2=abc`), { secret, now: at(signedAt) })).toMatchObject({ ok: true });
    expect(verifyWebhook(body, {}, { secret })).toEqual({ ok: false, reason: 'missing' });
    expect(verifyWebhook(body, { 'x-breakglass-signature': [v1(signedAt), v1(signedAt)] }, { secret, now: at(signedAt) })).toEqual({ ok: false, reason: 'missing' });
    for (const malformed of [`v1=${'a'.repeat(64)}`, `t=${signedAt}`, `t=soon,v1=${'a'.repeat(64)}`, `t=${signedAt},v1=xyz`, 'garbage']) {
      expect(verifyWebhook(body, headers(malformed), { secret, now: at(signedAt) })).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(() => verifyWebhook(body, headers(v1(signedAt)), { secret: '' })).toThrow(/non-empty secret/);
    expect(() => verifyWebhook(body, headers(v1(signedAt)), { secret: [] })).toThrow(/non-empty secret/);
  });

  describe('the legacy body-only form', () => {
    const legacy = (timestamp: number) => headers(legacySignatureHeader(secret, body), { 'x-breakglass-timestamp': String(timestamp) });

    it('is sha256=<hex HMAC of the body alone>', () => {
      expect(legacySignatureHeader(secret, body)).toBe(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    });

    it('is refused unless allowLegacy is set', () => {
      expect(verifyWebhook(body, legacy(signedAt), { secret, now: at(signedAt) })).toEqual({ ok: false, reason: 'legacy-not-allowed' });
      expect(verifyWebhook(body, legacy(signedAt), { secret, now: at(signedAt), allowLegacy: true })).toEqual({ ok: true, scheme: 'legacy', timestamp: signedAt });
    });

    it('is still checked for body, secret, its timestamp header and age when allowed', () => {
      const options = { secret, now: at(signedAt), allowLegacy: true };
      expect(verifyWebhook(`${body} `, legacy(signedAt), options)).toEqual({ ok: false, reason: 'mismatch' });
      expect(verifyWebhook(body, legacy(signedAt), { ...options, secret: 'another-secret' })).toEqual({ ok: false, reason: 'mismatch' });
      expect(verifyWebhook(body, headers(legacySignatureHeader(secret, body)), options)).toEqual({ ok: false, reason: 'malformed' });
      expect(verifyWebhook(body, legacy(signedAt - 301), options)).toEqual({ ok: false, reason: 'too-old' });
    });
  });
});
