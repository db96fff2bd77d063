import { BREAKGLASS_COMMAND } from '../slack/listeners/commands/breakglass-command';
import { SANDBOX_CHANNELS, SANDBOX_PEOPLE } from './people';
import type { SlackHttpResponse, SlackRequestSender, ViewStateValues } from './slack-stand-in/request-signer';
import type { Workspace, WorkspaceView } from './workspace';

/** Where a clicked element is: a message in a channel, an ephemeral, or a modal / Home tab. */
export type ClickTarget = { kind: 'message'; channel: string; ts: string } | { kind: 'ephemeral'; id: string } | { kind: 'view'; viewId: string };

/** The element clicked or chosen, as the page read it from the blocks. */
export interface ClickedElement {
  type: 'button' | 'static_select';
  actionId: string;
  blockId?: string;
  value?: string;
  text?: string;
  selectedOption?: { text: { type: 'plain_text'; text: string }; value: string };
}

/** What a submitted modal came to: closed, or still open with field errors (block id -> message). */
export interface SubmitOutcome {
  closed: boolean;
  errors?: Record<string, string>;
}

/** Thrown for a request the page should not have made (unknown person, message or view): a 400 for the page. */
export class InteractionError extends Error {
  override readonly name = 'InteractionError';
}

/**
 * The page's side of Slack: turns what a person does on the page (types a command, clicks, submits a modal, opens
 * the Home tab) into the signed requests Slack would send the bot, with trigger_ids and response_urls the workspace
 * knows, and shows what the bot answers in the acknowledgement.
 */
export class Interactions {
  constructor(
    private readonly workspace: Workspace,
    private readonly sender: () => SlackRequestSender,
  ) {}

  /** The message box: `/breakglass …` is a slash command; anything else is a plain message in the channel. */
  async type(user: string, channel: string, text: string): Promise<void> {
    this.person(user);
    const trimmed = text.trim();
    if (!trimmed) return;
    if (!trimmed.startsWith('/')) {
      this.workspace.addPersonMessage(channel, user, trimmed);
      return;
    }
    const [command, ...rest] = trimmed.split(/\s+/);
    if (command !== BREAKGLASS_COMMAND) {
      this.workspace.addEphemeral(channel, user, `${command} is not a valid command. This sandbox's app has ${BREAKGLASS_COMMAND} only.`);
      return;
    }
    const response = await this.sender().slashCommand({
      userId: user,
      channelId: channel,
      channelName: channelName(channel),
      userName: this.person(user).login,
      text: trimmed.slice(command.length).trim(),
      triggerId: this.workspace.newTrigger(user),
      responseUrl: this.workspace.newResponseUrl(user, channel),
    });
    this.checkAck(`${BREAKGLASS_COMMAND} ${rest.join(' ')}`, response);
    // An ack with a body is shown to the person who typed it, as Slack does.
    const body = response.json();
    if (body?.text) this.workspace.addEphemeral(channel, user, String(body.text), Array.isArray(body.blocks) ? body.blocks : []);
  }

  /** A button click or a select choice, sent as block_actions with the container Slack would name. */
  async click(user: string, target: ClickTarget, element: ClickedElement, values: ViewStateValues = {}): Promise<void> {
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      user: this.slackUser(user),
      api_app_id: this.sender().appId,
      token: 'sandbox-verification-token',
      trigger_id: this.workspace.newTrigger(user),
      team: { id: this.sender().teamId, domain: this.sender().teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      actions: [this.action(element)],
    };
    if (target.kind === 'view') {
      const view = this.view(user, target.viewId);
      payload.container = { type: 'view', view_id: view.id };
      payload.view = { ...view.view, hash: view.hash, state: { values } };
    } else {
      const channel = target.kind === 'message' ? target.channel : this.ephemeral(user, target.id).channel;
      payload.channel = { id: channel, name: channelName(channel) };
      payload.response_url = this.workspace.newResponseUrl(user, channel);
      payload.state = { values: {} };
      if (target.kind === 'message') {
        const message = this.workspace.findMessage(target.channel, target.ts);
        if (!message) throw new InteractionError(`no message ${target.ts} in ${target.channel}`);
        payload.container = { type: 'message', message_ts: message.ts, channel_id: channel, is_ephemeral: false, ...(message.threadTs ? { thread_ts: message.threadTs } : {}) };
        payload.message = {
          type: 'message',
          user: message.user,
          text: message.text,
          blocks: message.blocks,
          ts: message.ts,
          ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
        };
      } else {
        payload.container = { type: 'message', message_ts: `${(Date.now() / 1000).toFixed(6)}`, channel_id: channel, is_ephemeral: true };
      }
    }
    this.checkAck(`click on ${element.actionId}`, await this.sender().interaction(payload));
  }

  /** A modal's submit button: closed when the bot acks with nothing, field errors when it answers them. */
  async submit(user: string, viewId: string, values: ViewStateValues): Promise<SubmitOutcome> {
    const view = this.view(user, viewId);
    const response = await this.sender().interaction({
      type: 'view_submission',
      team: { id: this.sender().teamId, domain: this.sender().teamDomain },
      user: this.slackUser(user),
      api_app_id: this.sender().appId,
      token: 'sandbox-verification-token',
      trigger_id: this.workspace.newTrigger(user),
      view: { ...view.view, hash: view.hash, state: { values } },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    });
    this.checkAck(`submit of ${String(view.view.callback_id ?? 'a modal')}`, response);
    const body = response.json();
    if (body?.response_action === 'errors') return { closed: false, errors: body.errors ?? {} };
    if (body?.response_action === 'update' || body?.response_action === 'push') {
      this.workspace.addError('view_submission', 'unsupported_response_action', `the sandbox does not play response_action ${body.response_action}`);
      return { closed: false };
    }
    this.workspace.closeModal(user);
    return { closed: true };
  }

  closeModal(user: string): void {
    this.person(user);
    this.workspace.closeModal(user);
  }

  /** Opening the App Home tab: Slack sends app_home_opened and the bot publishes the tab. */
  async openHome(user: string): Promise<void> {
    const home = this.workspace.homes.get(user);
    const response = await this.sender().eventCallback({
      event: { type: 'app_home_opened', user, channel: `D${user}`, tab: 'home', ...(home ? { view: home.view } : {}) },
    });
    this.checkAck('app_home_opened', response);
  }

  private action(element: ClickedElement): Record<string, unknown> {
    const common = { action_id: element.actionId, block_id: element.blockId ?? 'sandbox-block', action_ts: `${(Date.now() / 1000).toFixed(6)}` };
    if (element.type === 'static_select') {
      if (!element.selectedOption) throw new InteractionError('a select choice needs selectedOption');
      return { type: 'static_select', ...common, selected_option: element.selectedOption };
    }
    return { type: 'button', ...common, text: { type: 'plain_text', text: element.text ?? element.actionId, emoji: true }, value: element.value ?? '' };
  }

  private checkAck(what: string, response: SlackHttpResponse): void {
    if (response.status !== 200) this.workspace.addError(`bot: ${what}`, `HTTP ${response.status}`, response.body.slice(0, 500) || undefined);
  }

  private view(user: string, viewId: string): WorkspaceView {
    const view = this.workspace.findView(user, viewId);
    if (!view) throw new InteractionError(`${user} has no view ${viewId} open`);
    return view;
  }

  private ephemeral(user: string, id: string) {
    const message = this.workspace.findEphemeral(user, id);
    if (!message) throw new InteractionError(`${user} has no ephemeral ${id}`);
    return message;
  }

  private person(user: string) {
    const person = SANDBOX_PEOPLE.find((candidate) => candidate.id === user);
    if (!person) throw new InteractionError(`unknown person ${user}`);
    return person;
  }

  private slackUser(user: string) {
    const { login } = this.person(user);
    return { id: user, username: login, name: login, team_id: this.sender().teamId };
  }
}

function channelName(channel: string): string {
  if (channel.startsWith('D')) return 'directmessage';
  return SANDBOX_CHANNELS.find((candidate) => candidate.id === channel)?.name ?? 'unknown';
}
