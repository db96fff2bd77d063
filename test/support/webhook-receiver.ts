import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type VerifyResult, verifyWebhook } from '../../src/webhook-verifier';

export interface ReceivedHook {
  action: string;
  payload: any;
  signatureValid: boolean;
  /** What the shipped verifier said (why it refused, when it did). */
  verification: VerifyResult;
  /** The body and headers exactly as they arrived, to replay the call. */
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  /** The Idempotency-Key header (undefined on verify). */
  idempotencyKey: string | undefined;
  /** What the receiver answered in `result`: `done`, `already` for a repeated key, undefined for verify and failures. */
  result: 'done' | 'already' | undefined;
}

/** A target system behind a webhook, as a team would write one: checks the signature and its time with the shipped
 * verifier (src/webhook-verifier.ts), keeps who has access and until when, and applies each idempotency key once (a
 * repeat is answered `{"result":"already"}`), so a call replayed within the 5 minutes changes nothing either. */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  readonly granted = new Set<string>();
  /** The expiry the receiver keeps per granted access, as sent by grant and extend. */
  readonly expiresAt = new Map<string, string>();
  /** Keys of the changes applied, in order; a failed call does not record its key, so its retry is applied. */
  readonly appliedKeys: string[] = [];
  /** Answer every call with this status instead (to simulate a broken target). */
  failWith: number | null = null;
  /** Logins whose revoke calls are answered 503 (one broken account among many), while every other call works. */
  readonly failRevokesOf = new Set<string>();
  /** Logins whose verify calls are answered `granted: false` even while granted: a target that took a grant but
   * does not show it (the bot must roll such a grant back). */
  readonly hideGrantsOf = new Set<string>();
  /** Called with each call as it arrives, before it is answered: lets a test make something happen at that moment
   * (e.g. Slack starting to rate-limit just as a grant lands). */
  onHook: ((hook: ReceivedHook) => void) | null = null;
  /** Accept the legacy body-only signature (the provider's `legacySignature`). */
  allowLegacy = false;
  /** How far this receiver's clock is ahead of the real one: a call checked with it set to 6 minutes arrives, as far as
   * the receiver can tell, 6 minutes after it was signed (a captured call replayed later). */
  clockAheadMs = 0;
  private server: Server | null = null;
  /** While set, revoke calls are held unanswered (a target that hangs). */
  private heldRevokes: ServerResponse[] | null = null;
  /** Only this login's revokes are held, when set. */
  private heldLogin: string | null = null;

  constructor(readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/access`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const verification = verifyWebhook(raw, req.headers, { secret: this.secret, allowLegacy: this.allowLegacy, now: Date.now() + this.clockAheadMs });
        const signatureValid = verification.ok;
        const payload = JSON.parse(raw.toString('utf8'));
        const hook: ReceivedHook = {
          action: payload.action,
          payload,
          signatureValid,
          verification,
          rawBody: raw,
          headers: req.headers,
          idempotencyKey: req.headers['idempotency-key'] as string | undefined,
          result: undefined,
        };
        this.received.push(hook);
        this.onHook?.(hook);
        const answer = (status: number, body: object = {}) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (!verification.ok) return answer(401, { error: `bad signature: ${verification.reason}` });
        if (this.failWith) return answer(this.failWith, { error: 'target is down' });
        if (payload.action === 'revoke' && this.failRevokesOf.has(payload.user.login)) return answer(503, { error: 'this account is locked' });
        const key = `${payload.user.login}:${payload.resource}:${payload.role}`;
        if (payload.action === 'verify') return answer(200, { granted: this.granted.has(key) && !this.hideGrantsOf.has(payload.user.login) });
        if (payload.action === 'revoke' && this.heldRevokes && (this.heldLogin === null || this.heldLogin === payload.user.login)) {
          this.heldRevokes.push(res);
          return;
        }
        // The signed body's key, not the header: only the body is covered by the signature.
        if (this.appliedKeys.includes(payload.idempotencyKey)) {
          hook.result = 'already';
          return answer(200, { result: 'already' });
        }
        if (payload.action === 'grant') {
          this.granted.add(key);
          this.expiresAt.set(key, payload.expiresAt);
        }
        if (payload.action === 'extend' && this.granted.has(key)) this.expiresAt.set(key, payload.expiresAt);
        if (payload.action === 'revoke') {
          this.granted.delete(key);
          this.expiresAt.delete(key);
        }
        this.appliedKeys.push(payload.idempotencyKey);
        hook.result = 'done';
        return answer(200, { result: 'done' });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  /** Holds revoke calls (of `login` only, when given) unanswered, as a hanging target would, until the returned
   * function is called. That drops them without applying anything (the connection is cut), so only a later revoke
   * can take the access away. */
  holdRevokes(login: string | null = null): () => void {
    const held: ServerResponse[] = [];
    this.heldRevokes = held;
    this.heldLogin = login;
    return () => {
      this.heldRevokes = null;
      this.heldLogin = null;
      for (const res of held) res.destroy();
    };
  }

  /** Sends `hook` again, byte for byte, as someone who captured it would (headers changed by `headers`, e.g. a forged
   * timestamp); returns the status and answer. */
  async replay(hook: ReceivedHook, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const sent: Record<string, string> = { 'content-type': 'application/json' };
    for (const name of ['x-breakglass-signature', 'x-breakglass-timestamp', 'idempotency-key']) {
      const value = hook.headers[name];
      if (typeof value === 'string') sent[name] = value;
    }
    const response = await fetch(this.url, { method: 'POST', headers: { ...sent, ...headers }, body: hook.rawBody });
    return { status: response.status, body: await response.json() };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
