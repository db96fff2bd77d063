import { FAKE_BOT_ID, FAKE_BOT_USER_ID, FAKE_TEAM_ID, type FakeSlackUser } from './fake-slack-types';

/** What the stand-in's default answers read of its state. */
export interface AnswerContext {
  nextMessageTs(): string;
  nextViewId(): string;
  userInfo(id: string): FakeSlackUser & Record<string, unknown>;
  /** Users given overrides (setUser), for users.lookupByEmail. */
  configuredUserIds(): string[];
  groupMembers(groupId: string): readonly string[] | undefined;
}

/** The plausible answer of each Web API method the stand-in plays, when no test (or outage) answers instead. */
export function defaultAnswer(method: string, args: Record<string, any>, slack: AnswerContext): object {
  switch (method) {
    case 'auth.test':
      return {
        ok: true,
        url: 'https://test.slack.com/',
        team: 'Test',
        user: 'breakglass',
        team_id: FAKE_TEAM_ID,
        user_id: FAKE_BOT_USER_ID,
        bot_id: FAKE_BOT_ID,
        is_enterprise_install: false,
      };
    case 'chat.postMessage': {
      const ts = slack.nextMessageTs();
      const message: Record<string, unknown> = {
        type: 'message',
        user: FAKE_BOT_USER_ID,
        bot_id: FAKE_BOT_ID,
        text: args.text ?? '',
        blocks: args.blocks ?? [],
        ts,
      };
      if (args.thread_ts !== undefined) message.thread_ts = args.thread_ts;
      return { ok: true, channel: args.channel, ts, message };
    }
    case 'chat.update':
      return {
        ok: true,
        channel: args.channel,
        ts: args.ts,
        text: args.text ?? '',
        message: { type: 'message', user: FAKE_BOT_USER_ID, bot_id: FAKE_BOT_ID, text: args.text ?? '', blocks: args.blocks ?? [] },
      };
    case 'chat.delete':
      return { ok: true, channel: args.channel, ts: args.ts };
    case 'chat.postEphemeral':
      return { ok: true, message_ts: slack.nextMessageTs() };
    case 'chat.getPermalink':
      return {
        ok: true,
        channel: args.channel,
        permalink: `https://test.slack.com/archives/${args.channel}/p${String(args.message_ts ?? '').replace('.', '')}`,
      };
    case 'views.open':
    case 'views.push':
    case 'views.update':
    case 'views.publish': {
      const view = typeof args.view === 'object' && args.view !== null ? args.view : {};
      const id = method === 'views.update' && typeof args.view_id === 'string' ? args.view_id : slack.nextViewId();
      return {
        ok: true,
        view: {
          id,
          team_id: FAKE_TEAM_ID,
          type: method === 'views.publish' ? 'home' : 'modal',
          private_metadata: '',
          callback_id: '',
          state: { values: {} },
          root_view_id: id,
          app_id: 'A0TESTAPP',
          bot_id: FAKE_BOT_ID,
          ...view,
          hash: `${Date.now()}.${id}`,
        },
      };
    }
    case 'conversations.open': {
      if (typeof args.channel === 'string') return { ok: true, channel: { id: args.channel } };
      const userIds = String(args.users ?? '')
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean);
      if (userIds.length === 0) return { ok: false, error: 'users_list_not_supplied' };
      return { ok: true, channel: { id: userIds.length === 1 ? `D${userIds[0]}` : `G${userIds.join('')}` } };
    }
    case 'users.info':
      if (typeof args.user !== 'string') return { ok: false, error: 'user_not_found' };
      return { ok: true, user: slack.userInfo(args.user) };
    case 'users.lookupByEmail': {
      const email = String(args.email ?? '').toLowerCase();
      const configured = slack
        .configuredUserIds()
        .map((id) => slack.userInfo(id))
        .find((user) => user.profile.email?.toLowerCase() === email);
      if (configured) return { ok: true, user: configured };
      // Default emails are `${id.toLowerCase()}@example.com`, so the id can be recovered from them.
      const match = /^([a-z0-9]+)@example\.com$/.exec(email);
      return match ? { ok: true, user: slack.userInfo(match[1].toUpperCase()) } : { ok: false, error: 'users_not_found' };
    }
    case 'response_url':
      // Bolt's respond(): Slack answers a response_url post with a bare ok.
      return { ok: true };
    case 'usergroups.users.list': {
      const members = slack.groupMembers(String(args.usergroup));
      return members ? { ok: true, users: [...members] } : { ok: false, error: 'no_such_subteam' };
    }
    default:
      // Strict, as Slack is: a method it does not know (or the stand-in does not play) is an error, not a silent ok.
      return { ok: false, error: 'unknown_method', detail: `the Slack stand-in does not implement ${method}` };
  }
}
