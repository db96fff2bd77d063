import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../../src/sandbox/local-server';

/** One request the bot made to the fake PagerDuty REST API. */
export interface PagerDutyCall {
  method: string;
  /** Path without the query, e.g. `/oncalls` or `/schedules/PABC123`. */
  path: string;
  query: URLSearchParams;
  /** The Authorization header as sent. */
  authorization: string | undefined;
  accept: string | undefined;
  at: number;
  /** The HTTP status answered; undefined when the connection was dropped (down). */
  status?: number;
}

const API_VERSION_ACCEPT = 'application/vnd.pagerduty+json;version=2';

/**
 * PagerDuty's REST API as the bot uses it (GET /oncalls, GET /schedules/{id}), served over real HTTP on 127.0.0.1,
 * strict where PagerDuty is: a missing or wrong `Authorization: Token token=…` gets 401, /oncalls without
 * `include[]=users` has no e-mail addresses, and without `earliest=true` every escalation level shows up (duplicates).
 * It can be set to answer errors (`fail`) or drop connections (`down`), and records every call.
 */
export class FakePagerDuty {
  readonly calls: PagerDutyCall[] = [];
  private readonly schedules = new Map<string, string[]>();
  private failure: { kind: 'status'; status: number } | { kind: 'down' } | null = null;
  private server?: Server;
  private port?: number;

  constructor(private readonly options: { token: string }) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    this.port = await listenOnLoopback(server);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  /** PAGERDUTY_API_URL for the bot. */
  get url(): string {
    if (this.port === undefined) throw new Error('FakePagerDuty is not started: await start() first');
    return `http://127.0.0.1:${this.port}`;
  }

  /** The schedule exists and these people (by e-mail address) are on call for it now; [] for nobody. */
  setOnCall(scheduleId: string, emails: readonly string[]): void {
    this.schedules.set(scheduleId, [...emails]);
  }

  /** Every request answers this status (429, 500, 503…) until `recover()`. */
  fail(status: number): void {
    this.failure = { kind: 'status', status };
  }

  /** Every connection is dropped without an answer until `recover()`: PagerDuty cannot be reached. */
  down(): void {
    this.failure = { kind: 'down' };
  }

  recover(): void {
    this.failure = null;
  }

  callsTo(path: string): PagerDutyCall[] {
    return this.calls.filter((call) => call.path === path);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake-pagerduty');
    const call: PagerDutyCall = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      accept: req.headers.accept,
      at: Date.now(),
    };
    this.calls.push(call);
    if (this.failure?.kind === 'down') {
      req.socket.destroy();
      return;
    }
    const [status, body] = this.answer(call, url);
    call.status = status;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private answer(call: PagerDutyCall, url: URL): [number, object] {
    const notFound: [number, object] = [404, { error: { message: 'Not Found', code: 2100 } }];
    if (this.failure?.kind === 'status') return [this.failure.status, { error: { message: 'Service Unavailable', code: 2000 } }];
    if (call.authorization !== `Token token=${this.options.token}`) return [401, { error: { message: 'Unauthorized', code: 2006 } }];
    // Stricter than PagerDuty (which falls back to the token's version): the bot must ask for version 2 explicitly.
    if (call.accept !== API_VERSION_ACCEPT) return [406, { error: { message: `expected Accept: ${API_VERSION_ACCEPT}`, code: 2000 } }];
    if (call.method !== 'GET') return [405, { error: { message: 'Method Not Allowed', code: 2000 } }];
    if (url.pathname === '/oncalls') return [200, this.onCalls(url.searchParams)];
    const schedule = /^\/schedules\/([^/]+)$/.exec(url.pathname);
    if (!schedule) return notFound;
    const id = decodeURIComponent(schedule[1]);
    return this.schedules.has(id) ? [200, { schedule: { id, type: 'schedule', name: `Schedule ${id}`, time_zone: 'UTC' } }] : notFound;
  }

  private onCalls(query: URLSearchParams): object {
    const withUsers = query.getAll('include[]').includes('users');
    const levels = query.get('earliest') === 'true' ? [1] : [1, 2];
    const scheduleIds = query.getAll('schedule_ids[]');
    const oncalls = scheduleIds.flatMap((scheduleId) =>
      (this.schedules.get(scheduleId) ?? []).flatMap((email, index) =>
        levels.map((level) => {
          const id = `PUSER${String(index).padStart(2, '0')}${scheduleId.slice(-2)}`;
          return {
            escalation_policy: { id: 'PEPOLICY1', type: 'escalation_policy_reference' },
            escalation_level: level,
            schedule: { id: scheduleId, type: 'schedule_reference' },
            user: withUsers ? { id, type: 'user', summary: email.split('@')[0], email } : { id, type: 'user_reference', summary: email.split('@')[0] },
            start: new Date(Date.now() - 3_600_000).toISOString(),
            end: new Date(Date.now() + 3_600_000).toISOString(),
          };
        }),
      ),
    );
    return { oncalls, limit: Number(query.get('limit') ?? 25), offset: 0, more: false, total: null };
  }
}
