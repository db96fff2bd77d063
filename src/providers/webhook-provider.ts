import { LEGACY_TIMESTAMP_HEADER, legacySignatureHeader, SIGNATURE_HEADER, signatureHeader } from '../webhook-verifier';
import { type AccessProvider, type GrantResult, type GrantTarget, ProviderError } from './types';

export interface WebhookProviderOptions {
  url: string;
  /** HMAC key shared with the receiver. Never shown in messages. */
  secret: string;
  timeoutMs: number;
  /** Send the old body-only signature (`sha256=…` plus an unsigned X-Breakglass-Timestamp) instead of the signed
   * timestamp, for receivers not upgraded yet. Removed in the next release. */
  legacySignature?: boolean;
}

export type WebhookAction = 'grant' | 'revoke' | 'verify' | 'extend';

/** The JSON body the receiver gets; its exact bytes (after `<timestamp>.`) are what X-Breakglass-Signature signs. */
export interface WebhookPayload {
  action: WebhookAction;
  /** The same for every attempt at one logical change, so a receiver can recognise a retry (also sent as the
   * Idempotency-Key header). Absent on verify, which changes nothing. */
  idempotencyKey?: string;
  requestId: string;
  user: { slackId: string; login: string };
  resource: string;
  role: string;
  /** The role's `grant` value from the policy (defaults to the role id), for receivers that map roles themselves. */
  grant: string;
  /** When access ends; for `extend`, the new end. */
  expiresAt: string;
  reason: string;
  ticket: string | null;
}

export { SIGNATURE_HEADER };
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const MAX_BODY_EXCERPT_CHARS = 120;
/** Enough for any sensible answer; a receiver streaming more must not fill our memory. */
const MAX_BODY_BYTES = 64 * 1024;

/** What a receiver may say in a 2xx answer's optional `{"result": …}`: `already` when the state was already as
 * asked (e.g. a repeated idempotency key). Both are success. */
const SUCCESS_RESULTS: readonly unknown[] = ['done', 'already'];

/** One key per logical change: retries of a grant or revoke repeat it, and each extension to a new expiry gets
 * its own, so a receiver that remembers keys applies every change once. */
function idempotencyKeyFor(action: Exclude<WebhookAction, 'verify'>, target: GrantTarget): string {
  const key = `${target.requestId}:${action}`;
  return action === 'extend' ? `${key}:${target.expiresAt.toISOString()}` : key;
}

/** Hands grants and revocations to an HTTP receiver that applies them on the target system. */
export class WebhookProvider implements AccessProvider {
  readonly type = 'webhook';
  readonly sharing = 'login';
  /** Requests whose last successful grant/revoke call was a grant; only consulted when the receiver cannot
   * answer verify. Bounded by the grants currently in place, and empty after a restart. */
  private readonly grantedRequestIds = new Set<string>();

  constructor(private readonly options: WebhookProviderOptions) {
    if (options.secret.length === 0) throw new Error('webhook provider needs a non-empty secret');
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new Error('webhook provider needs a positive timeoutMs');
    }
  }

  async grant(target: GrantTarget): Promise<GrantResult> {
    const response = await this.post('grant', target);
    await this.expectSuccess(response);
    this.grantedRequestIds.add(target.requestId);
    return {};
  }

  /** A receiver that keeps no expiry of its own may answer 404 or 501: access stays until our revoke anyway. */
  async extend(target: GrantTarget): Promise<void> {
    const response = await this.post('extend', target);
    if (response.status === 404 || response.status === 501) {
      await discardBody(response);
      return;
    }
    await this.expectSuccess(response);
  }

  async revoke(target: GrantTarget): Promise<void> {
    const response = await this.post('revoke', target);
    await this.expectSuccess(response);
    this.grantedRequestIds.delete(target.requestId);
  }

  /** The receiver is the only one who knows whether access is in place, so it is asked: a 2xx answer
   * `{ "granted": true|false }` is the truth. A receiver that does not implement verify (404 or 501) gets the
   * benefit of the doubt: we assume the last successful grant/revoke through this process still holds. That is
   * a guess, not a read-back, and after a restart it says false for grants made before. */
  async verify(target: GrantTarget): Promise<boolean> {
    const response = await this.post('verify', target);
    if (response.status === 404 || response.status === 501) {
      await discardBody(response);
      return this.grantedRequestIds.has(target.requestId);
    }
    const text = await this.readSuccess(response);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new ProviderError(`webhook answered verify with something that is not JSON: ${this.excerpt(text)}`);
    }
    const granted = fieldOf(answer, 'granted');
    if (typeof granted !== 'boolean') {
      throw new ProviderError('webhook answered verify without a boolean "granted"');
    }
    return granted;
  }

  async close(): Promise<void> {
    // Nothing held open: fetch pools its own connections.
  }

  private async post(action: WebhookAction, target: GrantTarget): Promise<Response> {
    const idempotencyKey = action === 'verify' ? undefined : idempotencyKeyFor(action, target);
    const payload: WebhookPayload = {
      action,
      idempotencyKey,
      requestId: target.requestId,
      user: { slackId: target.slackId, login: target.login },
      resource: target.resourceId,
      role: target.roleId,
      grant: target.grant,
      expiresAt: target.expiresAt.toISOString(),
      reason: target.reason,
      ticket: target.ticket,
    };
    // Signed and sent as the same bytes, so the receiver can check the signature on exactly what arrives.
    const rawBody = Buffer.from(JSON.stringify(payload), 'utf8');
    const now = Math.floor(Date.now() / 1000);
    const signature: Record<string, string> = this.options.legacySignature
      ? { [SIGNATURE_HEADER]: legacySignatureHeader(this.options.secret, rawBody), [LEGACY_TIMESTAMP_HEADER]: String(now) }
      : { [SIGNATURE_HEADER]: signatureHeader(this.options.secret, rawBody, now) };
    try {
      return await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...signature,
          ...(idempotencyKey === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey }),
          'User-Agent': 'breakglass',
        },
        body: rawBody,
        // A redirect would re-send the signed body somewhere else; treat it as a failure instead.
        redirect: 'manual',
        // Also bounds reading the response body, which happens after fetch resolves.
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw this.transportError(error);
    }
  }

  private transportError(error: unknown): ProviderError {
    if (isTimeout(error)) {
      return new ProviderError(`webhook timed out after ${formatDuration(this.options.timeoutMs)}`);
    }
    // fetch rejects with "fetch failed" and the socket error as cause; its code says what happened without
    // echoing the URL (which may carry a token).
    const code = fieldOf(fieldOf(error, 'cause'), 'code') ?? fieldOf(error, 'code');
    return new ProviderError(`cannot reach the webhook: ${typeof code === 'string' ? code : 'network error'}`);
  }

  /** Accepts a 2xx answer whose body is empty, not JSON, or JSON whose `result` (if any) is `done` or `already`. */
  private async expectSuccess(response: Response): Promise<void> {
    const text = await this.readSuccess(response);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      return; // any 2xx body means done; only a JSON `result` has a meaning
    }
    const result = fieldOf(answer, 'result');
    if (result !== undefined && !SUCCESS_RESULTS.includes(result)) {
      throw new ProviderError(`webhook answered ${response.status} with an unknown result: ${this.excerpt(text)}`);
    }
  }

  /** Returns the body of a 2xx answer, or throws with the status and a short excerpt of what the receiver said. */
  private async readSuccess(response: Response): Promise<string> {
    let text: string;
    try {
      text = await readLimited(response, MAX_BODY_BYTES);
    } catch (error) {
      throw this.transportError(error);
    }
    if (response.status < 200 || response.status > 299) {
      const said = this.excerpt(text);
      throw new ProviderError(said.length > 0 ? `webhook answered ${response.status}: ${said}` : `webhook answered ${response.status}`);
    }
    return text;
  }

  /** One short line of what the receiver said; a receiver echoing our secret back must not put it in Slack. */
  private excerpt(text: string): string {
    const line = text
      .split(this.options.secret)
      .join('***')
      .replace(/[\s\p{Cc}]+/gu, ' ')
      .trim();
    return line.length > MAX_BODY_EXCERPT_CHARS ? `${line.slice(0, MAX_BODY_EXCERPT_CHARS)}…` : line;
  }
}

/** The body as text, cut off after maxBytes (the rest is discarded). */
async function readLimited(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= maxBytes) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** Duck-typed on purpose: errors from fetch may come from another realm (e.g. under jest), failing instanceof. */
function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function isTimeout(error: unknown): boolean {
  const name = fieldOf(error, 'name');
  return name === 'TimeoutError' || name === 'AbortError';
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
