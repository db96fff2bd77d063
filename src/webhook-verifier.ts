/**
 * Checks that a call to a webhook receiver comes from Breakglass, now. For receivers: import it
 * (`breakglass/webhook-verifier` after a build, or copy this one file: it needs nothing but node:crypto).
 *
 * The bot sends `X-Breakglass-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. The timestamp
 * is signed with the body, so a captured call cannot be replayed once it is older than the tolerance (5 minutes by
 * default, either way: a clock far ahead is refused too). Within the tolerance a replay still verifies: receivers
 * stop those by remembering the idempotency keys they applied (see docs/providers.md, "Signatures").
 *
 * The old form, `X-Breakglass-Signature: sha256=<hex HMAC of the body alone>` with an unsigned
 * `X-Breakglass-Timestamp`, is accepted only with `allowLegacy: true`, for one release: its timestamp is not
 * signed, so anyone who captured one call can replay it forever with a fresh timestamp.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Breakglass-Signature';
/** Sent, unsigned, with the legacy form only. */
export const LEGACY_TIMESTAMP_HEADER = 'X-Breakglass-Timestamp';
export const DEFAULT_TOLERANCE_SECONDS = 300;

const LEGACY_PREFIX = 'sha256=';
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/** Node's `req.headers` (lower-case keys), a fetch `Headers`, or any object with a `get(name)`. */
export type HeadersLike = Record<string, string | string[] | undefined> | { get(name: string): string | null };

export interface VerifyOptions {
  /** The shared secret; several while rotating it (any one may match). */
  secret: string | readonly string[];
  /** Largest difference between the signed time and now, either way. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** Accept the legacy body-only signature. Off by default; for one release while the bot's `legacySignature` is on. */
  allowLegacy?: boolean;
  /** Now, in milliseconds (tests). */
  now?: number;
}

export type VerifyFailure = 'missing' | 'malformed' | 'mismatch' | 'too-old' | 'in-the-future' | 'legacy-not-allowed';

export type VerifyResult = { ok: true; scheme: 'v1' | 'legacy'; timestamp: number } | { ok: false; reason: VerifyFailure };

/** The header value for `rawBody` sent at `timestamp` (Unix seconds). */
export function signatureHeader(secret: string, rawBody: string | Uint8Array, timestamp: number): string {
  return `t=${timestamp},v1=${hmacHex(secret, signedText(timestamp, rawBody))}`;
}

/** The legacy header value: `sha256=<hex HMAC of the body alone>`. */
export function legacySignatureHeader(secret: string, rawBody: string | Uint8Array): string {
  return LEGACY_PREFIX + hmacHex(secret, rawBody);
}

/** Verifies the raw body bytes as received (before any JSON parsing) against the request's headers. */
export function verifyWebhook(rawBody: string | Uint8Array, headers: HeadersLike, options: VerifyOptions): VerifyResult {
  const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret];
  if (secrets.length === 0 || secrets.some((secret) => secret.length === 0)) throw new Error('verifyWebhook needs a non-empty secret');
  const header = headerOf(headers, SIGNATURE_HEADER);
  if (header === undefined) return { ok: false, reason: 'missing' };
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;

  if (header.startsWith(LEGACY_PREFIX)) {
    if (!options.allowLegacy) return { ok: false, reason: 'legacy-not-allowed' };
    const hex = header.slice(LEGACY_PREFIX.length);
    const timestamp = parseTimestamp(headerOf(headers, LEGACY_TIMESTAMP_HEADER));
    if (!HEX_SHA256.test(hex) || timestamp === null) return { ok: false, reason: 'malformed' };
    if (!secrets.some((secret) => sameHex(hex, hmacHex(secret, rawBody)))) return { ok: false, reason: 'mismatch' };
    const age = checkAge(timestamp, nowSeconds, tolerance);
    return age ? { ok: false, reason: age } : { ok: true, scheme: 'legacy', timestamp };
  }

  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) return { ok: false, reason: 'malformed' };
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') timestamp = parseTimestamp(value);
    else if (key === 'v1' && HEX_SHA256.test(value)) signatures.push(value);
    // Other schemes (a future v2) are skipped, so a sender may send more than one.
  }
  if (timestamp === null || signatures.length === 0) return { ok: false, reason: 'malformed' };
  // The signature first: an unauthenticated caller learns nothing about our clock.
  const expected = secrets.map((secret) => hmacHex(secret, signedText(timestamp, rawBody)));
  if (!signatures.some((given) => expected.some((hex) => sameHex(given, hex)))) return { ok: false, reason: 'mismatch' };
  const age = checkAge(timestamp, nowSeconds, tolerance);
  return age ? { ok: false, reason: age } : { ok: true, scheme: 'v1', timestamp };
}

function signedText(timestamp: number, rawBody: string | Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody]);
}

function hmacHex(secret: string, data: string | Uint8Array): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/** Constant-time comparison of two 64-digit hex strings. */
function sameHex(given: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(given.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
}

function checkAge(timestamp: number, nowSeconds: number, tolerance: number): 'too-old' | 'in-the-future' | null {
  if (timestamp < nowSeconds - tolerance) return 'too-old';
  if (timestamp > nowSeconds + tolerance) return 'in-the-future';
  return null;
}

function parseTimestamp(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,12}$/.test(value.trim())) return null;
  return Number(value.trim());
}

function headerOf(headers: HeadersLike, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name.toLowerCase()] ?? record[name];
  // A repeated header is refused rather than guessed at.
  return typeof value === 'string' ? value : undefined;
}
