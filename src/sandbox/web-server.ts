import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { REPO_ROOT } from './batteries';
import type { DemoWebhookTarget } from './demo-targets';
import { InteractionError, type Interactions } from './interactions';
import { SANDBOX_CHANNELS, SANDBOX_PEOPLE } from './people';
import { FAKE_BOT_USER_ID } from './slack-stand-in/fake-slack-types';
import type { Workspace, WorkspaceMessage } from './workspace';

/** The page's files: plain HTML, CSS and JavaScript, served as they are (no build step). */
const PAGE_DIR = path.join(REPO_ROOT, 'src/sandbox/page');
const PAGE_FILES: Record<string, string> = {
  'app.js': 'text/javascript',
  'blocks.js': 'text/javascript',
  'mrkdwn.js': 'text/javascript',
  'style.css': 'text/css',
  'blocks.css': 'text/css',
};

export interface WebServerDeps {
  workspace: Workspace;
  interactions: Interactions;
  webhook: DemoWebhookTarget;
  /** What the page shows of the targets (the PostgreSQL roles' members, the webhook's grants and calls). */
  targets: () => Promise<object>;
}

/** A thread: the top-level message and its replies. */
interface ThreadedMessage extends WorkspaceMessage {
  replies: WorkspaceMessage[];
}

function threaded(messages: WorkspaceMessage[]): ThreadedMessage[] {
  const top = messages.filter((message) => !message.threadTs || message.threadTs === message.ts).map((message) => ({ ...message, replies: [] as WorkspaceMessage[] }));
  const byTs = new Map(top.map((message) => [message.ts, message]));
  for (const message of messages) {
    if (!message.threadTs || message.threadTs === message.ts) continue;
    const parent = byTs.get(message.threadTs);
    if (parent) parent.replies.push(message);
    else top.push({ ...message, replies: [] });
  }
  return top;
}

/** The sandbox's HTTP server: the page, its JSON API, server-sent events on every change, and the demo webhook target. */
export class SandboxWebServer {
  private server: Server | null = null;
  private readonly app = express();
  private readonly streams = new Set<express.Response>();

  constructor(private readonly deps: WebServerDeps) {
    const { app } = this;
    app.get('/', (_req, res) => {
      res.type('html').send(fs.readFileSync(path.join(PAGE_DIR, 'index.html'), 'utf8'));
    });
    app.get('/page/:file', (req, res) => {
      const type = PAGE_FILES[req.params.file];
      if (!type) return void res.status(404).end();
      res.type(type).send(fs.readFileSync(path.join(PAGE_DIR, req.params.file), 'utf8'));
    });
    // Slack's permalink form (/archives/<channel>/p<ts>): the channel, on the page.
    app.get('/archives/:channel/:message', (req, res) => {
      const known = SANDBOX_CHANNELS.some((channel) => channel.id === req.params.channel);
      res.redirect(known ? `/?open=${encodeURIComponent(req.params.channel)}` : '/?open=dm');
    });
    app.post('/demo-webhook/access', express.raw({ type: '*/*' }), (req, res) => {
      const answer = deps.webhook.handle(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), req.headers);
      res.status(answer.status).json(answer.body);
    });
    app.get('/api/events', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(`event: change\ndata: ${deps.workspace.version}\n\n`);
      this.streams.add(res);
      req.on('close', () => this.streams.delete(res));
    });
    app.get('/api/state', async (req, res) => {
      const me = String(req.query.as ?? '');
      if (!SANDBOX_PEOPLE.some((person) => person.id === me)) return void res.status(400).json({ error: `unknown person ${me}` });
      res.json(await this.state(me));
    });
    app.use('/api', express.json({ limit: '200kb' }));
    this.post('/api/type', (body) => deps.interactions.type(body.as, body.channel, String(body.text ?? '')));
    this.post('/api/click', (body) => deps.interactions.click(body.as, body.target, body.element, body.values ?? {}));
    this.post('/api/submit', (body) => deps.interactions.submit(body.as, body.viewId, body.values ?? {}));
    this.post('/api/close', async (body) => deps.interactions.closeModal(body.as));
    this.post('/api/home', (body) => deps.interactions.openHome(body.as));
    this.post('/api/dismiss', async (body) => deps.workspace.dismissEphemeral(body.as, body.id));
    deps.workspace.subscribe(() => this.broadcast());
  }

  /** Listens on 127.0.0.1:`port` (0: a free one); resolves with the port. */
  async start(port: number): Promise<number> {
    const server = this.app.listen(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Tells every open page that something changed (the page then asks for its state). */
  broadcast(): void {
    for (const stream of this.streams) stream.write(`event: change\ndata: ${this.deps.workspace.version}\n\n`);
  }

  private post(route: string, handle: (body: any) => Promise<unknown>): void {
    this.app.post(route, async (req, res) => {
      try {
        res.json((await handle(req.body ?? {})) ?? {});
      } catch (err) {
        if (err instanceof InteractionError) return void res.status(400).json({ error: err.message });
        // The bot could not be reached, or it broke: shown on the page like a refused call.
        this.deps.workspace.addError(route, err instanceof Error ? err.message : String(err));
        res.status(502).json({ error: err instanceof Error ? err.message : String(err) });
      }
    });
  }

  private async state(me: string) {
    const { workspace } = this.deps;
    const dm = `D${me}`;
    const targets = await this.deps.targets().catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
    return {
      version: workspace.version,
      me,
      bot: { id: FAKE_BOT_USER_ID, name: 'Breakglass' },
      people: SANDBOX_PEOPLE,
      channels: SANDBOX_CHANNELS.map((channel) => ({ ...channel, messages: threaded(workspace.messages.get(channel.id) ?? []) })),
      dm: { id: dm, name: 'Breakglass', messages: threaded(workspace.messages.get(dm) ?? []) },
      ephemerals: workspace.ephemerals.filter((message) => message.user === me),
      home: workspace.homes.get(me) ?? null,
      modal: workspace.modals.get(me)?.at(-1) ?? null,
      errors: workspace.errors,
      targets,
    };
  }
}
