import { createHmac } from 'node:crypto';

export interface SlackSignatureHeaders {
  'x-slack-request-timestamp': string;
  'x-slack-signature': string;
}

/** Slack's v0 request signature: `v0=` + hex HMAC-SHA256 of `v0:${timestamp}:${rawBody}` keyed by the signing secret. */
export function signSlackRequest(signingSecret: string, rawBody: string, timestampSec: number = Math.floor(Date.now() / 1000)): SlackSignatureHeaders {
  const digest = createHmac('sha256', signingSecret).update(`v0:${timestampSec}:${rawBody}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestampSec), 'x-slack-signature': `v0=${digest}` };
}

/** Lets a test send stale, future-dated or badly signed requests. */
export interface SigningOverrides {
  /** Timestamp to sign with and send (default: now). */
  timestampSec?: number;
  /** Sent as `x-slack-signature` instead of the correct one. */
  signature?: string;
}

export interface SlackHttpResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** The body parsed as JSON, or `undefined` when it is empty or not JSON (Bolt acks with an empty body). */
  json(): any;
}

/** `state.values` of a view: `{ [blockId]: { [actionId]: { type, value | selected_option | … } } }`. */
export type ViewStateValues = Record<string, Record<string, ViewStateValue>>;

export interface ViewStateValue {
  type: string;
  value?: string | null;
  selected_option?: { text: { type: 'plain_text'; text: string; emoji?: boolean }; value: string } | null;
  [key: string]: unknown;
}

/** State entry of a plain_text_input, for building `values`. */
export function plainTextInputValue(value: string): ViewStateValue {
  return { type: 'plain_text_input', value };
}

/** State entry of a static_select, for building `values`. */
export function staticSelectValue(value: string, text: string = value): ViewStateValue {
  return { type: 'static_select', selected_option: { text: { type: 'plain_text', text, emoji: true }, value } };
}

export interface SlackRequestSenderOptions {
  /** Where the bot's Bolt receiver listens, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  signingSecret: string;
  teamId?: string;
  teamDomain?: string;
  appId?: string;
  /** Defaults to Bolt's `/slack/events`. */
  path?: string;
  /**
   * Builds the `response_url` for requests that did not pass one. Point it at FakeSlackApi#responseUrl so
   * Bolt's `respond()` never reaches hooks.slack.com; the default is a hooks.slack.com-shaped URL.
   */
  responseUrl?: () => string;
}

export interface SlashCommandParams extends SigningOverrides {
  userId: string;
  channelId: string;
  text: string;
  command?: string;
  triggerId?: string;
  userName?: string;
  channelName?: string;
  responseUrl?: string;
}

export interface BlockActionParams extends SigningOverrides {
  userId: string;
  channelId: string;
  actionId: string;
  value: string;
  blockId?: string;
  /** ts of the message holding the button (default: a fixed plausible ts). */
  messageTs?: string;
  /** Set when the message is a thread reply. */
  threadTs?: string;
  responseUrl?: string;
  triggerId?: string;
  /** The message holding the button, as Slack includes it (e.g. the `message` a postMessage answer returned). */
  message?: Record<string, unknown>;
  userName?: string;
  channelName?: string;
  /** Button label, sent back in the action's `text`. */
  buttonText?: string;
}

/** The modal an action or submission comes from. */
export interface ViewParams {
  id?: string;
  callbackId?: string;
  privateMetadata?: string;
  values?: ViewStateValues;
}

export interface SelectActionParams extends SigningOverrides {
  userId: string;
  actionId: string;
  blockId: string;
  selectedValue: string;
  selectedText?: string;
  view?: ViewParams;
  triggerId?: string;
  userName?: string;
}

export interface ViewSubmissionParams extends SigningOverrides {
  userId: string;
  callbackId: string;
  privateMetadata: string;
  values: ViewStateValues;
  viewId?: string;
  triggerId?: string;
  userName?: string;
}

export interface EventCallbackParams extends SigningOverrides {
  /** The inner event, e.g. `{ type: 'app_mention', user, channel, text, ts }`. */
  event: Record<string, unknown>;
  eventId?: string;
}

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const JSON_CONTENT_TYPE = 'application/json';
/** Slack's legacy verification token; Bolt ignores it but real payloads carry it. */
const VERIFICATION_TOKEN = 'fake-verification-token';

/** Sends requests into the bot's Bolt receiver with the bodies, content types and signatures Slack uses. */
export class SlackRequestSender {
  readonly teamId: string;
  readonly teamDomain: string;
  readonly appId: string;
  private readonly endpoint: string;
  private readonly signingSecret: string;
  private readonly makeResponseUrl: () => string;
  private sequence = 0;

  constructor(options: SlackRequestSenderOptions) {
    this.signingSecret = options.signingSecret;
    this.teamId = options.teamId ?? 'T0TEAM';
    this.teamDomain = options.teamDomain ?? 'test';
    this.appId = options.appId ?? 'A0TESTAPP';
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/${(options.path ?? '/slack/events').replace(/^\/+/, '')}`;
    this.makeResponseUrl = options.responseUrl ?? (() => `https://hooks.slack.com/actions/${this.teamId}/${this.nextId()}/${this.randomish()}`);
  }

  slashCommand(params: SlashCommandParams): Promise<SlackHttpResponse> {
    const fields: Record<string, string> = {
      token: VERIFICATION_TOKEN,
      team_id: this.teamId,
      team_domain: this.teamDomain,
      channel_id: params.channelId,
      channel_name: params.channelName ?? defaultChannelName(params.channelId),
      user_id: params.userId,
      user_name: params.userName ?? params.userId.toLowerCase(),
      command: params.command ?? '/breakglass',
      text: params.text,
      api_app_id: this.appId,
      is_enterprise_install: 'false',
      response_url: params.responseUrl ?? this.makeResponseUrl(),
      trigger_id: params.triggerId ?? this.triggerId(),
    };
    return this.send(new URLSearchParams(fields).toString(), FORM_CONTENT_TYPE, undefined, params);
  }

  /** A button click on a message. */
  blockAction(params: BlockActionParams): Promise<SlackHttpResponse> {
    const messageTs = params.messageTs ?? '1700000000.000100';
    const container: Record<string, unknown> = {
      type: 'message',
      message_ts: messageTs,
      channel_id: params.channelId,
      is_ephemeral: false,
    };
    if (params.threadTs !== undefined) container.thread_ts = params.threadTs;
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      user: this.user(params.userId, params.userName),
      api_app_id: this.appId,
      token: VERIFICATION_TOKEN,
      container,
      trigger_id: params.triggerId ?? this.triggerId(),
      team: this.team(),
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: params.channelId, name: params.channelName ?? defaultChannelName(params.channelId) },
      state: { values: {} },
      response_url: params.responseUrl ?? this.makeResponseUrl(),
      actions: [
        {
          type: 'button',
          action_id: params.actionId,
          block_id: params.blockId ?? this.randomish(),
          text: { type: 'plain_text', text: params.buttonText ?? params.actionId, emoji: true },
          value: params.value,
          action_ts: this.actionTs(),
        },
      ],
    };
    if (params.message !== undefined) payload.message = params.message;
    return this.sendPayload(payload, params);
  }

  /** A static_select choice inside a modal (container type 'view'; Slack sends no channel or response_url). */
  selectAction(params: SelectActionParams): Promise<SlackHttpResponse> {
    const view = this.view(params.view ?? {});
    const payload = {
      type: 'block_actions',
      user: this.user(params.userId, params.userName),
      api_app_id: this.appId,
      token: VERIFICATION_TOKEN,
      container: { type: 'view', view_id: view.id },
      trigger_id: params.triggerId ?? this.triggerId(),
      team: this.team(),
      enterprise: null,
      is_enterprise_install: false,
      view,
      actions: [
        {
          type: 'static_select',
          action_id: params.actionId,
          block_id: params.blockId,
          selected_option: {
            text: { type: 'plain_text', text: params.selectedText ?? params.selectedValue, emoji: true },
            value: params.selectedValue,
          },
          action_ts: this.actionTs(),
        },
      ],
    };
    return this.sendPayload(payload, params);
  }

  /** A modal's submit button. */
  viewSubmission(params: ViewSubmissionParams): Promise<SlackHttpResponse> {
    const payload = {
      type: 'view_submission',
      team: this.team(),
      user: this.user(params.userId, params.userName),
      api_app_id: this.appId,
      token: VERIFICATION_TOKEN,
      trigger_id: params.triggerId ?? this.triggerId(),
      view: this.view({
        id: params.viewId,
        callbackId: params.callbackId,
        privateMetadata: params.privateMetadata,
        values: params.values,
      }),
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    return this.sendPayload(payload, params);
  }

  /** An Events API delivery (JSON body), e.g. an app_mention or a DM message. */
  eventCallback(params: EventCallbackParams): Promise<SlackHttpResponse> {
    const body = {
      token: VERIFICATION_TOKEN,
      team_id: this.teamId,
      api_app_id: this.appId,
      event: { event_ts: this.actionTs(), ...params.event },
      type: 'event_callback',
      event_id: params.eventId ?? `Ev${this.nextId()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: this.teamId, user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
    return this.send(JSON.stringify(body), JSON_CONTENT_TYPE, undefined, params);
  }

  /**
   * Sends `rawBody` signed as Slack would. `headersOverride` is applied last; a header set to `undefined` is
   * removed (e.g. to drop the signature entirely).
   */
  async send(rawBody: string, contentType: string, headersOverride: Record<string, string | undefined> = {}, signing: SigningOverrides = {}): Promise<SlackHttpResponse> {
    const signed = signSlackRequest(this.signingSecret, rawBody, signing.timestampSec);
    const merged: Record<string, string | undefined> = {
      // Bolt compares the content type exactly, so it must not gain a charset suffix.
      'content-type': contentType,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...signed,
      ...(signing.signature !== undefined ? { 'x-slack-signature': signing.signature } : {}),
      ...lowerCaseKeys(headersOverride),
    };
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(merged)) if (value !== undefined) headers[name] = value;

    // A string body keeps the exact bytes that were signed.
    const response = await fetch(this.endpoint, { method: 'POST', headers, body: rawBody });
    const body = await response.text();
    return {
      status: response.status,
      body,
      headers: Object.fromEntries(response.headers.entries()),
      json: () => parseJsonOrUndefined(body),
    };
  }

  /** Any interactivity payload (block_actions from a Home tab or an ephemeral, view_closed, …) as Slack sends it. */
  interaction(payload: object, signing: SigningOverrides = {}): Promise<SlackHttpResponse> {
    return this.sendPayload(payload, signing);
  }

  private sendPayload(payload: object, signing: SigningOverrides): Promise<SlackHttpResponse> {
    // Interactivity payloads arrive as a single form field holding JSON.
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), FORM_CONTENT_TYPE, undefined, signing);
  }

  private user(userId: string, userName: string = userId.toLowerCase()) {
    return { id: userId, username: userName, name: userName, team_id: this.teamId };
  }

  private team() {
    return { id: this.teamId, domain: this.teamDomain };
  }

  private view(params: ViewParams) {
    const id = params.id ?? `V${String(this.nextId()).padStart(8, '0')}`;
    return {
      id,
      team_id: this.teamId,
      type: 'modal',
      blocks: [],
      private_metadata: params.privateMetadata ?? '',
      callback_id: params.callbackId ?? '',
      state: { values: params.values ?? {} },
      hash: `${Math.floor(Date.now() / 1000)}.${this.randomish()}`,
      title: { type: 'plain_text', text: 'Modal', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      previous_view_id: null,
      root_view_id: id,
      app_id: this.appId,
      external_id: '',
      app_installed_team_id: this.teamId,
      bot_id: 'BBOT',
    };
  }

  private nextId(): number {
    return ++this.sequence;
  }

  private randomish(): string {
    return Math.random().toString(36).slice(2, 10);
  }

  /** Shaped like Slack's `13345224609.738474920.8088930838d88f008e0`. */
  private triggerId(): string {
    return `${Date.now()}.${this.nextId()}.${this.randomish()}`;
  }

  private actionTs(): string {
    return `${(Date.now() / 1000).toFixed(6)}`;
  }
}

function defaultChannelName(channelId: string): string {
  // Slack reports DMs and private channels by kind, not name.
  if (channelId.startsWith('D')) return 'directmessage';
  if (channelId.startsWith('G')) return 'privategroup';
  return 'breakglass-test';
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function parseJsonOrUndefined(text: string): any {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
