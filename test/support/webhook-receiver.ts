import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../src/providers/webhook-provider';

export interface ReceivedHook {
  action: string;
  payload: any;
  signatureValid: boolean;
  timestamp: string | undefined;
}

/** A target system behind a webhook, as a team would write one: checks the signature, keeps who has access. */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  readonly granted = new Set<string>();
  /** Answer every call with this status instead (to simulate a broken target). */
  failWith: number | null = null;
  private server: Server | null = null;

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
        this.received.push({ action: payload.action, payload, signatureValid, timestamp: req.headers['x-breakglass-timestamp'] as string | undefined });
        const answer = (status: number, body: object = {}) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (!signatureValid) return answer(401, { error: 'bad signature' });
        if (this.failWith) return answer(this.failWith, { error: 'target is down' });
        const key = `${payload.user.login}:${payload.resource}:${payload.role}`;
        if (payload.action === 'grant') this.granted.add(key);
        if (payload.action === 'revoke') this.granted.delete(key);
        if (payload.action === 'verify') return answer(200, { granted: this.granted.has(key) });
        return answer(200, { ok: true });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
