import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../src/providers/webhook-provider';

export interface ReceivedHook {
  action: string;
  payload: any;
  signatureValid: boolean;
  timestamp: string | undefined;
  /** The Idempotency-Key header (undefined on verify). */
  idempotencyKey: string | undefined;
  /** What the receiver answered in `result`: `done`, `already` for a repeated key, undefined for verify and failures. */
  result: 'done' | 'already' | undefined;
}

/** A target system behind a webhook, as a team would write one: checks the signature, keeps who has access and
 * until when, and applies each idempotency key once (a repeat is answered `{"result":"already"}`). */
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
        const signatureValid = verifyWebhookSignature(this.secret, raw, req.headers['x-breakglass-signature']);
        const payload = JSON.parse(raw.toString('utf8'));
        const hook: ReceivedHook = {
          action: payload.action,
          payload,
          signatureValid,
          timestamp: req.headers['x-breakglass-timestamp'] as string | undefined,
          idempotencyKey: req.headers['idempotency-key'] as string | undefined,
          result: undefined,
        };
        this.received.push(hook);
        this.onHook?.(hook);
        const answer = (status: number, body: object = {}) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (!signatureValid) return answer(401, { error: 'bad signature' });
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

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
