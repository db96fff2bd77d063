import type { FakeSlackApi, RecordedCall } from './slack-stand-in/fake-slack-api';
import { FAKE_BOT_USER_ID } from './slack-stand-in/fake-slack-types';

/** A message in a channel or DM: the bot's (posted through the Web API) or a person's (typed on the page). */
export interface WorkspaceMessage {
  ts: string;
  user: string;
  text: string;
  blocks: unknown[];
  threadTs?: string;
  edited?: boolean;
  /** When it arrived (the stand-in's ts values are plausible, not the time). */
  at: number;
}

/** A message only `user` sees, until they dismiss it. */
export interface EphemeralMessage {
  id: string;
  channel: string;
  user: string;
  text: string;
  blocks: unknown[];
  at: number;
}

/** A modal or Home tab as the bot last drew it. */
export interface WorkspaceView {
  id: string;
  user: string;
  view: Record<string, any>;
  hash: string;
}

/** A call the stand-in refused, or a request of ours the bot answered badly: shown on the page. */
export interface WorkspaceError {
  at: number;
  where: string;
  error: string;
  detail?: string;
}

/** Who a response_url or trigger_id was handed to, so what comes back lands with them. */
interface Handout {
  user: string;
  channel?: string;
  at: number;
}

const TRIGGER_LIFETIME_MS = 3000;
const MAX_ERRORS = 50;

/**
 * What the people on the sandbox page see: built from the bot's Web API calls as the stand-in answered them
 * (channel messages and threads, DMs, ephemerals, modals, Home tabs) plus what people typed. Every change bumps
 * `version`, which the page follows over server-sent events.
 */
export class Workspace {
  version = 0;
  readonly messages = new Map<string, WorkspaceMessage[]>();
  readonly ephemerals: EphemeralMessage[] = [];
  readonly homes = new Map<string, WorkspaceView>();
  /** The modal each person has open (the last of a views.push stack), by user. */
  readonly modals = new Map<string, WorkspaceView[]>();
  readonly errors: WorkspaceError[] = [];
  private readonly triggers = new Map<string, Handout>();
  private readonly responseUrls = new Map<string, Handout>();
  private readonly listeners = new Set<() => void>();
  private counter = 0;
  private readonly stopListening: () => void;

  constructor(private readonly slack: FakeSlackApi) {
    this.stopListening = slack.onAnswered((call, body) => this.record(call, body));
    // Slack refuses a modal whose trigger_id it never issued or that is older than 3 seconds.
    for (const method of ['views.open', 'views.push']) {
      slack.respondWith(method, (args) => (this.triggerUser(String(args.trigger_id ?? '')) ? undefined : { ok: false, error: 'expired_trigger_id' }));
    }
  }

  close(): void {
    this.stopListening();
    this.listeners.clear();
  }

  /** Calls `listener` after every change; returns a function that stops it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A trigger_id for an interaction of `user` (valid for 3 seconds, as Slack's). */
  newTrigger(user: string): string {
    const id = `${Date.now()}.${++this.counter}.sandbox`;
    this.triggers.set(id, { user, at: Date.now() });
    return id;
  }

  /** A response_url for an interaction of `user` in `channel`: what the bot posts there is an ephemeral for them. */
  newResponseUrl(user: string, channel: string): string {
    const id = `R${++this.counter}`;
    this.responseUrls.set(id, { user, channel, at: Date.now() });
    return this.slack.responseUrl(id);
  }

  /** A message typed on the page (not a command): the bot does not read channels, it only shows. */
  addPersonMessage(channel: string, user: string, text: string): void {
    this.channelMessages(channel).push({ ts: this.localTs(), user, text, blocks: [], at: Date.now() });
    this.changed();
  }

  addEphemeral(channel: string, user: string, text: string, blocks: unknown[] = []): void {
    this.ephemerals.push({ id: `E${++this.counter}`, channel, user, text, blocks, at: Date.now() });
    this.changed();
  }

  dismissEphemeral(user: string, id: string): void {
    const index = this.ephemerals.findIndex((message) => message.id === id && message.user === user);
    if (index === -1) return;
    this.ephemerals.splice(index, 1);
    this.changed();
  }

  closeModal(user: string): void {
    if (!this.modals.delete(user)) return;
    this.changed();
  }

  addError(where: string, error: string, detail?: string): void {
    this.errors.push({ at: Date.now(), where, error, detail });
    if (this.errors.length > MAX_ERRORS) this.errors.splice(0, this.errors.length - MAX_ERRORS);
    this.changed();
  }

  findMessage(channel: string, ts: string): WorkspaceMessage | undefined {
    return this.messages.get(channel)?.find((message) => message.ts === ts);
  }

  findEphemeral(user: string, id: string): EphemeralMessage | undefined {
    return this.ephemerals.find((message) => message.id === id && message.user === user);
  }

  /** The modal or Home tab `user` sees with this id. */
  findView(user: string, viewId: string): WorkspaceView | undefined {
    const home = this.homes.get(user);
    if (home?.id === viewId) return home;
    return this.modals.get(user)?.find((view) => view.id === viewId);
  }

  private triggerUser(triggerId: string): string | undefined {
    const handout = this.triggers.get(triggerId);
    if (!handout || Date.now() - handout.at > TRIGGER_LIFETIME_MS) return undefined;
    return handout.user;
  }

  private channelMessages(channel: string): WorkspaceMessage[] {
    let list = this.messages.get(channel);
    if (!list) {
      list = [];
      this.messages.set(channel, list);
    }
    return list;
  }

  /** Timestamps of people's messages, after every message so far (the stand-in's run from 1700000000). */
  private localTs(): string {
    return `${(Date.now() / 1000).toFixed(6)}`;
  }

  private changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }

  private record(call: RecordedCall, body: unknown): void {
    const answer = (body && typeof body === 'object' ? body : {}) as Record<string, any>;
    if (!call.answer?.ok) {
      const detail = answer.detail ?? answer.errors ?? answer.response_metadata?.messages;
      this.addError(call.method, String(answer.error ?? `HTTP ${call.answer?.status ?? '?'}`), detail === undefined ? undefined : JSON.stringify(detail));
      return;
    }
    const { args } = call;
    switch (call.method) {
      case 'chat.postMessage':
        this.channelMessages(String(args.channel)).push({
          ts: String(answer.ts),
          user: FAKE_BOT_USER_ID,
          text: String(args.text ?? ''),
          blocks: Array.isArray(args.blocks) ? args.blocks : [],
          threadTs: args.thread_ts === undefined ? undefined : String(args.thread_ts),
          at: Date.now(),
        });
        break;
      case 'chat.update': {
        const message = this.findMessage(String(args.channel), String(args.ts));
        if (!message) {
          this.addError('chat.update', 'message_not_found', `no message ${args.ts} in ${args.channel}`);
          return;
        }
        message.text = String(args.text ?? message.text);
        if (args.blocks !== undefined) message.blocks = Array.isArray(args.blocks) ? args.blocks : [];
        message.edited = true;
        break;
      }
      case 'chat.delete': {
        const list = this.messages.get(String(args.channel)) ?? [];
        const index = list.findIndex((message) => message.ts === String(args.ts));
        if (index !== -1) list.splice(index, 1);
        break;
      }
      case 'chat.postEphemeral':
        this.addEphemeral(String(args.channel), String(args.user), String(args.text ?? ''), Array.isArray(args.blocks) ? args.blocks : []);
        return;
      case 'response_url': {
        const id = decodeURIComponent(call.path.split('/').pop() ?? '');
        const handout = this.responseUrls.get(id);
        if (!handout?.channel) {
          this.addError('response_url', 'unknown_response_url', id);
          return;
        }
        if (args.response_type === 'in_channel') this.addPersonMessage(handout.channel, FAKE_BOT_USER_ID, String(args.text ?? ''));
        else this.addEphemeral(handout.channel, handout.user, String(args.text ?? ''), Array.isArray(args.blocks) ? args.blocks : []);
        return;
      }
      case 'views.open':
      case 'views.push': {
        const user = this.triggerUser(String(args.trigger_id));
        if (!user) return;
        const view = { id: answer.view.id, user, view: answer.view, hash: answer.view.hash };
        this.modals.set(user, call.method === 'views.open' ? [view] : [...(this.modals.get(user) ?? []), view]);
        break;
      }
      case 'views.update': {
        for (const stack of this.modals.values()) {
          const index = stack.findIndex((view) => view.id === args.view_id);
          if (index !== -1) stack[index] = { ...stack[index], view: answer.view, hash: answer.view.hash };
        }
        break;
      }
      case 'views.publish': {
        const user = String(args.user_id);
        const id = this.homes.get(user)?.id ?? answer.view.id;
        this.homes.set(user, { id, user, view: { ...answer.view, id, type: 'home' }, hash: answer.view.hash });
        break;
      }
      default:
        return;
    }
    this.changed();
  }
}
