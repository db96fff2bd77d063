import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../local-server';
import { blocksRefusal } from './block-limits';
import { defaultAnswer } from './default-answers';
import { bearerToken, decodeFormValue, isHttpResponse, parseBody, readBody, sendJson, sendRaw } from './http-body';
import {
  FAKE_TEAM_ID,
  type FakeHttpResponse,
  type FakeOutage,
  type FakeResponder,
  type FakeSlackApiOptions,
  type FakeSlackUser,
  type FakeSlackUserOverrides,
  rateLimitedAnswer,
  type RecordedCall,
} from './fake-slack-types';

export * from './fake-slack-types';

const RESPONSE_URL_PREFIX = '/response_url/';
const CALL_EVENT = 'call';
const ANSWER_EVENT = 'answer';

/**
 * A fake Slack Web API over real HTTP. Point a WebClient at it with `slackApiUrl: fake.url`; every call is recorded
 * with decoded arguments and answered with a plausible result that tests can override per method.
 */
export class FakeSlackApi {
  readonly calls: RecordedCall[] = [];

  private server: Server | undefined;
  private port: number | undefined;
  private readonly expectedTokens: readonly string[];
  private readonly events = new EventEmitter();
  /** Per method: one-shot answers first (in registration order), then at most one lasting answer. */
  private readonly responders = new Map<string, { responder: FakeResponder; once: boolean }[]>();
  /** Lasting outages, checked before the per-method responders, in the order they were started. */
  private readonly outages: { methods: ReadonlySet<string>; responder: FakeResponder; state: { active: boolean } }[] = [];
  private readonly users = new Map<string, FakeSlackUserOverrides>();
  private readonly userGroups = new Map<string, string[]>();
  private readonly archivedChannels = new Set<string>();
  private messageCounter = 0;
  private viewCounter = 0;
  private responseUrlCounter = 0;

  constructor(options: FakeSlackApiOptions = {}) {
    const { expectedToken } = options;
    this.expectedTokens = expectedToken === undefined ? [] : typeof expectedToken === 'string' ? [expectedToken] : [...expectedToken];
    // Many tests may wait at once; the default limit of 10 would print spurious leak warnings.
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('FakeSlackApi is already started');
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        // A throwing responder is a test bug: surface it as a 500 the client will report, not a hung request.
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        }
        res.end(`FakeSlackApi failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      });
    });
    this.port = await listenOnLoopback(server);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.port = undefined;
    await closeServer(server);
  }

  /** Base URL for WebClient's `slackApiUrl`: it appends the method name directly, so this ends in `/api/`. */
  get url(): string {
    return `${this.origin}/api/`;
  }

  /**
   * A fresh URL to hand out as a `response_url`: Bolt's `respond()` posts JSON there, recorded as method `response_url`.
   * Pass it to SlackRequestSender's `responseUrl` options so no test ever posts to hooks.slack.com.
   */
  responseUrl(id: string = `R${++this.responseUrlCounter}`): string {
    return `${this.origin}${RESPONSE_URL_PREFIX}${encodeURIComponent(id)}`;
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  lastCall(method: string): RecordedCall | undefined {
    return this.callsOf(method).at(-1);
  }

  /**
   * Resolves with the first recorded call (already made or still to come) of `method` whose args satisfy `predicate`.
   * Rejects after `timeoutMs` with the methods seen so far, so a failing test says what the bot did instead.
   */
  waitForCall(method: string, predicate?: (args: Record<string, any>, call: RecordedCall) => boolean, timeoutMs = 5000): Promise<RecordedCall> {
    const matches = (call: RecordedCall) => call.method === method && (predicate?.(call.args, call) ?? true);
    const earlier = this.calls.find(matches);
    if (earlier) return Promise.resolve(earlier);
    return new Promise<RecordedCall>((resolve, reject) => {
      const onCall = (call: RecordedCall) => {
        if (!matches(call)) return;
        clearTimeout(timer);
        this.events.off(CALL_EVENT, onCall);
        resolve(call);
      };
      const timer = setTimeout(() => {
        this.events.off(CALL_EVENT, onCall);
        reject(new Error(`Timed out after ${timeoutMs}ms waiting for a ${method} call${predicate ? ' matching the predicate' : ''}. ${this.describeCalls(method)}`));
      }, timeoutMs);
      this.events.on(CALL_EVENT, onCall);
    });
  }

  /** Calls `listener` with each call once it is answered, and the body of the answer (e.g. the ts of a posted message);
   * returns a function that stops listening. The sandbox's workspace is built from these. */
  onAnswered(listener: (call: RecordedCall, body: unknown) => void): () => void {
    this.events.on(ANSWER_EVENT, listener);
    return () => this.events.off(ANSWER_EVENT, listener);
  }

  /** Replaces the answer to `method` until reset(); a later respondWith for the same method wins. */
  respondWith(method: string, responder: FakeResponder): void {
    const oneShots = (this.responders.get(method) ?? []).filter((entry) => entry.once);
    this.responders.set(method, [...oneShots, { responder, once: false }]);
  }

  /** Answers only the next call of `method` with `responder` (e.g. one 429, then normal answers); several queue up in order. */
  respondOnce(method: string, responder: FakeResponder): void {
    const entries = this.responders.get(method) ?? [];
    const firstLasting = entries.findIndex((entry) => !entry.once);
    entries.splice(firstLasting === -1 ? entries.length : firstLasting, 0, { responder, once: true });
    this.responders.set(method, entries);
  }

  /**
   * Answers every call of `methods` with `responder` until the returned outage is lifted (a Slack that stays rate
   * limited or down for a while). It comes before respondWith/respondOnce, which are left untouched and answer
   * again once it is lifted; a responder returning `undefined` lets that call through to them. Several outages may
   * overlap; the first started answers.
   */
  outage(methods: readonly string[], responder: FakeResponder): FakeOutage {
    const entry = { methods: new Set(methods), responder, state: { active: true } };
    this.outages.push(entry);
    return {
      lift: () => {
        entry.state.active = false;
        const index = this.outages.indexOf(entry);
        if (index !== -1) this.outages.splice(index, 1);
      },
      get active() {
        return entry.state.active;
      },
    };
  }

  /** An {@link outage} answering 429 with `Retry-After: retryAfterSeconds`, to the calls `when` selects (all by default). */
  rateLimit(methods: readonly string[], retryAfterSeconds: number, when: (args: Record<string, any>, call: RecordedCall) => boolean = () => true): FakeOutage {
    return this.outage(methods, (args, call) => (when(args, call) ? rateLimitedAnswer(retryAfterSeconds) : undefined));
  }

  /** Calls of `method` the fake answered with a success: what Slack actually took (posted, updated, opened). */
  deliveredCallsOf(method: string): RecordedCall[] {
    return this.callsOf(method).filter((call) => call.answer?.ok === true);
  }

  /** Overrides what users.info (and users.lookupByEmail) return for `id`; `profile` is merged into the default one. */
  setUser(id: string, overrides: FakeSlackUserOverrides): void {
    const previous = this.users.get(id) ?? {};
    this.users.set(id, { ...previous, ...overrides, profile: { ...previous.profile, ...overrides.profile } });
  }

  /** Members returned by usergroups.users.list for `groupId`; unknown groups answer `no_such_subteam`. */
  setUserGroup(groupId: string, userIds: readonly string[]): void {
    this.userGroups.set(groupId, [...userIds]);
  }

  /** Archives a channel: from now on posts, updates and ephemerals there answer `is_archived`, as Slack does. */
  archiveChannel(channelId: string): void {
    this.archivedChannels.add(channelId);
  }

  unarchiveChannel(channelId: string): void {
    this.archivedChannels.delete(channelId);
  }

  /** The user users.info would return for `id`. */
  userInfo(id: string): FakeSlackUser & Record<string, unknown> {
    const overrides = this.users.get(id) ?? {};
    const name = overrides.name ?? id.toLowerCase();
    const realName = overrides.real_name ?? `Test User ${id}`;
    return {
      id,
      team_id: FAKE_TEAM_ID,
      name,
      real_name: realName,
      deleted: false,
      is_bot: false,
      ...overrides,
      profile: { email: `${id.toLowerCase()}@example.com`, real_name: realName, display_name: name, ...overrides.profile },
    };
  }

  /** Forgets recorded calls only; overrides, users and groups stay. */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Back to a just-constructed state (calls, respondWith/respondOnce overrides, users, groups, ts counter); keeps listening. */
  reset(): void {
    this.clearCalls();
    this.responders.clear();
    for (const outage of this.outages.splice(0)) outage.state.active = false;
    this.users.clear();
    this.userGroups.clear();
    this.archivedChannels.clear();
    this.messageCounter = 0;
    this.viewCounter = 0;
    this.responseUrlCounter = 0;
  }

  private get origin(): string {
    if (this.port === undefined) throw new Error('FakeSlackApi is not started: await start() first');
    return `http://127.0.0.1:${this.port}`;
  }

  /** The answer of the first active outage covering `method` that has one for this call. */
  private async outageAnswer(method: string, args: Record<string, any>, call: RecordedCall): Promise<object | FakeHttpResponse | undefined> {
    for (const outage of [...this.outages]) {
      if (!outage.methods.has(method)) continue;
      const answer = await outage.responder(args, call);
      if (answer !== undefined) return answer;
    }
    return undefined;
  }

  /** The responder for the next call of `method`, consuming it if it is one-shot. */
  private takeResponder(method: string): FakeResponder | undefined {
    const entries = this.responders.get(method);
    const next = entries?.[0];
    if (!entries || !next) return undefined;
    if (next.once) entries.shift();
    return next.responder;
  }

  private describeCalls(method: string): string {
    if (this.calls.length === 0) return 'No calls were made.';
    const counts = new Map<string, number>();
    for (const call of this.calls) counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
    const seen = [...counts].map(([name, count]) => (count > 1 ? `${name} ×${count}` : name)).join(', ');
    const sameMethod = this.callsOf(method).map((call) => `  ${truncate(JSON.stringify(call.args), 300)}`);
    return `Methods seen: ${seen}.${sameMethod.length > 0 ? `\n${method} calls that did not match:\n${sameMethod.join('\n')}` : ''}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = requestUrl.pathname;
    const method = path.startsWith('/api/') ? decodeURIComponent(path.slice('/api/'.length)) : path.startsWith(RESPONSE_URL_PREFIX) ? 'response_url' : undefined;
    if (!method) {
      sendJson(res, 404, { ok: false, error: 'fake_slack_api_unknown_path', path });
      return;
    }

    const rawBody = await readBody(req);
    const args: Record<string, any> = {};
    // Slack accepts arguments in the query string too; body fields win.
    for (const [key, value] of requestUrl.searchParams) args[key] = decodeFormValue(value);
    Object.assign(args, await parseBody(rawBody, req.headers['content-type']));

    const token = bearerToken(req.headers.authorization) ?? (typeof args.token === 'string' ? args.token : undefined);
    delete args.token;
    // response_url posts carry no token: the URL itself is the credential.
    const needsToken = method !== 'response_url' && this.expectedTokens.length > 0;
    const tokenAccepted = !needsToken || (token !== undefined && this.expectedTokens.includes(token));
    const call: RecordedCall = { method, args, at: Date.now(), token, tokenAccepted, path };
    this.calls.push(call);
    this.events.emit(CALL_EVENT, call);

    if (!tokenAccepted) {
      call.answer = { status: 200, ok: false };
      const refusal = { ok: false, error: token === undefined ? 'not_authed' : 'invalid_auth' };
      sendJson(res, 200, refusal);
      this.events.emit(ANSWER_EVENT, call, refusal);
      return;
    }
    const override = (await this.outageAnswer(method, args, call)) ?? (await this.takeResponder(method)?.(args, call));
    const answer = override ?? blocksRefusal(method, args) ?? this.archivedRefusal(method, args) ?? this.defaultAnswer(method, args);
    if (isHttpResponse(answer)) {
      call.answer = { status: answer.status, ok: answer.status === 200 && typeof answer.body === 'object' && (answer.body as { ok?: unknown }).ok !== false };
      sendRaw(res, answer);
    } else {
      call.answer = { status: 200, ok: (answer as { ok?: unknown }).ok !== false };
      sendJson(res, 200, answer);
    }
    this.events.emit(ANSWER_EVENT, call, isHttpResponse(answer) ? answer.body : answer);
  }

  private archivedRefusal(method: string, args: Record<string, any>): object | undefined {
    const writes = ['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'chat.delete'];
    return writes.includes(method) && this.archivedChannels.has(args.channel) ? { ok: false, error: 'is_archived' } : undefined;
  }

  private nextMessageTs(): string {
    // Unique and increasing like real message timestamps, yet stable across runs.
    const counter = ++this.messageCounter;
    const seconds = 1_700_000_000 + Math.floor(counter / 10_000);
    const micros = (counter % 10_000) * 100;
    return `${seconds}.${String(micros).padStart(6, '0')}`;
  }

  private defaultAnswer(method: string, args: Record<string, any>): object {
    return defaultAnswer(method, args, {
      nextMessageTs: () => this.nextMessageTs(),
      nextViewId: () => `V${String(++this.viewCounter).padStart(8, '0')}`,
      userInfo: (id) => this.userInfo(id),
      configuredUserIds: () => [...this.users.keys()],
      groupMembers: (groupId) => this.userGroups.get(groupId),
    });
  }
}

function truncate(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
