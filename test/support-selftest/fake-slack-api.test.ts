import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, LogLevel, verifySlackRequest } from '@slack/bolt';
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { FakeSlackApi } from '../support/fake-slack-api';
import { plainTextInputValue, signSlackRequest, SlackRequestSender, staticSelectValue } from '../support/slack-request-signer';

const BOT_TOKEN = 'xoxb-test-token';
const SIGNING_SECRET = 'test-signing-secret';

describe('FakeSlackApi', () => {
  const fake = new FakeSlackApi({ expectedToken: BOT_TOKEN });
  const clientWithToken = (token: string, extra: ConstructorParameters<typeof WebClient>[1] = {}) =>
    // No retries: a failing call should fail the test at once.
    new WebClient(token, { slackApiUrl: fake.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR, ...extra });

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(() => fake.reset());

  it('is strict like Slack: unknown methods, over-long modal titles, bad inputs and select options are refused, and each answer is reported', async () => {
    const client = clientWithToken(BOT_TOKEN);
    const answered: { method: string; body: any }[] = [];
    const stop = fake.onAnswered((call, body) => answered.push({ method: call.method, body }));
    await expect(client.apiCall('chat.notAMethod', {})).rejects.toMatchObject({ data: { error: 'unknown_method' } });
    const modal = (extra: Record<string, unknown>) => ({ type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Title' }, blocks: [], ...extra });
    await expect(client.views.open({ trigger_id: 't', view: modal({ title: { type: 'plain_text', text: 'x'.repeat(25) } }) })).rejects.toMatchObject({
      data: { error: 'invalid_arguments' },
    });
    await expect(client.views.open({ trigger_id: 't', view: modal({ private_metadata: 'x'.repeat(3001) }) })).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    const select = (options: unknown[]) => [{ type: 'input', label: { type: 'plain_text', text: 'Pick' }, element: { type: 'static_select', action_id: 'a', options } }];
    const option = (text: string, value: string) => ({ text: { type: 'plain_text', text }, value });
    for (const blocks of [
      select([]),
      select([option('x'.repeat(76), 'v')]),
      select([option('x', 'v'.repeat(151))]),
      [{ type: 'input', label: { type: 'plain_text', text: 'x' } }],
    ]) {
      await expect(client.views.open({ trigger_id: 't', view: modal({ blocks }) })).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    }
    await expect(client.views.open({ trigger_id: 't', view: modal({ blocks: select([option('x', 'v')]) }) })).resolves.toMatchObject({ ok: true });
    stop();
    expect(answered.map((entry) => entry.body.error ?? 'ok')).toEqual([
      'unknown_method',
      'invalid_arguments',
      'invalid_arguments',
      'invalid_blocks',
      'invalid_blocks',
      'invalid_blocks',
      'invalid_blocks',
      'ok',
    ]);
    expect(answered.at(-1)?.body.view.id).toMatch(/^V/);
  });

  it('refuses blocks real Slack refuses (invalid_blocks): empty or over-long text, too many fields or blocks', async () => {
    const client = clientWithToken(BOT_TOKEN);
    const refused = [
      [{ type: 'section', text: { type: 'plain_text', text: 'x'.repeat(3001) } }],
      [{ type: 'section', text: { type: 'mrkdwn', text: '' } }],
      [{ type: 'section', fields: [{ type: 'plain_text', text: 'x'.repeat(2001) }] }],
      [{ type: 'section', text: { type: 'mrkdwn', text: 'x', emoji: false } }],
      [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }],
      Array.from({ length: 51 }, () => ({ type: 'divider' })),
    ];
    for (const blocks of refused) {
      await expect(client.chat.postMessage({ channel: 'C123', text: 'x', blocks })).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    }
    const fine = [{ type: 'section', text: { type: 'plain_text', text: 'x'.repeat(3000), emoji: false }, fields: [{ type: 'plain_text', text: 'y' }] }];
    await expect(client.chat.postMessage({ channel: 'C123', text: 'x', blocks: fine })).resolves.toMatchObject({ ok: true });
    await expect(client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: Array.from({ length: 100 }, () => ({ type: 'divider' })) } })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('records decoded WebClient calls and answers them plausibly', async () => {
    const client = clientWithToken(BOT_TOKEN);
    const blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: '[urgent] *Access request*' } },
      { type: 'actions', elements: [{ type: 'button', action_id: 'approve', value: 'req-1', text: { type: 'plain_text', text: 'Approve' } }] },
    ];

    const posted = await client.chat.postMessage({ channel: 'C123', text: '[urgent] Access request', blocks, thread_ts: '1699999999.000001' });
    const second = await client.chat.postMessage({ channel: 'C123', text: 'again' });
    const user = await client.users.info({ user: 'U42' });
    const dm = await client.conversations.open({ users: 'U42' });

    const call = fake.lastCall('chat.postMessage');
    expect(fake.callsOf('chat.postMessage')).toHaveLength(2);
    expect(fake.callsOf('chat.postMessage')[0].args).toEqual({
      channel: 'C123',
      // Text that merely starts with a bracket stays text.
      text: '[urgent] Access request',
      blocks,
      thread_ts: '1699999999.000001',
    });
    expect(call?.token).toBe(BOT_TOKEN);
    expect(call?.tokenAccepted).toBe(true);
    expect(posted).toMatchObject({ ok: true, channel: 'C123', message: { text: '[urgent] Access request', blocks, thread_ts: '1699999999.000001' } });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(posted.ts));
    expect(user.user).toMatchObject({ id: 'U42', profile: { email: 'u42@example.com' } });
    expect(dm.channel?.id).toBe('DU42');
    expect(fake.calls.map((recorded) => recorded.method)).toEqual(['chat.postMessage', 'chat.postMessage', 'users.info', 'conversations.open']);
  });

  it('serves configured users and user groups', async () => {
    const client = clientWithToken(BOT_TOKEN);
    fake.setUser('U7', { real_name: 'Grace Hopper', profile: { email: 'grace@corp.example' } });
    fake.setUserGroup('S_ONCALL', ['U7', 'U8']);

    const user = await client.users.info({ user: 'U7' });
    const group = await client.usergroups.users.list({ usergroup: 'S_ONCALL' });

    expect(user.user).toMatchObject({ id: 'U7', real_name: 'Grace Hopper', profile: { email: 'grace@corp.example', display_name: 'u7' } });
    expect(group.users).toEqual(['U7', 'U8']);
    await expect(client.usergroups.users.list({ usergroup: 'S_UNKNOWN' })).rejects.toMatchObject({ data: { error: 'no_such_subteam' } });
  });

  it('lets a test make a method fail with a platform error', async () => {
    const client = clientWithToken(BOT_TOKEN);
    fake.respondWith('chat.postMessage', (args) => (args.channel === 'C_PRIVATE' ? { ok: false, error: 'not_in_channel' } : undefined));

    const failure = await client.chat.postMessage({ channel: 'C_PRIVATE', text: 'hi' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WebAPIPlatformError);
    expect((failure as WebAPIPlatformError).data.error).toBe('not_in_channel');
    // Returning undefined falls back to the default answer.
    await expect(client.chat.postMessage({ channel: 'C_PUBLIC', text: 'hi' })).resolves.toMatchObject({ ok: true });
  });

  it('simulates rate limits and server errors with full HTTP answers', async () => {
    const client = clientWithToken(BOT_TOKEN, { rejectRateLimitedCalls: true });
    fake.respondOnce('chat.update', () => ({ status: 429, headers: { 'Retry-After': '7' }, body: { ok: false, error: 'ratelimited' } }));
    fake.respondOnce('chat.update', () => ({ status: 500, body: 'upstream exploded' }));

    const rateLimited = await client.chat.update({ channel: 'C1', ts: '1.2', text: 'x' }).catch((error: unknown) => error);
    const serverError = await client.chat.update({ channel: 'C1', ts: '1.2', text: 'x' }).catch((error: unknown) => error);
    const recovered = await client.chat.update({ channel: 'C1', ts: '1.2', text: 'x' });

    expect(rateLimited).toBeInstanceOf(WebAPIRateLimitedError);
    expect((rateLimited as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(serverError).toBeInstanceOf(WebAPIHTTPError);
    expect((serverError as WebAPIHTTPError).statusCode).toBe(500);
    expect(recovered).toMatchObject({ ok: true, channel: 'C1', ts: '1.2' });
  });

  it('keeps answering 429 to several methods until the rate limit is lifted, and records what was delivered', async () => {
    const client = clientWithToken(BOT_TOKEN, { rejectRateLimitedCalls: true });
    fake.respondWith('chat.postMessage', (args) => (args.channel === 'C_PRIVATE' ? { ok: false, error: 'not_in_channel' } : undefined));
    const limit = fake.rateLimit(['chat.postMessage', 'chat.update'], 30, (args) => args.channel !== 'C_SPARED');

    for (let attempt = 0; attempt < 3; attempt++) {
      const refused = await client.chat.postMessage({ channel: 'C1', text: 'held back' }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(WebAPIRateLimitedError);
      expect((refused as WebAPIRateLimitedError).retryAfter).toBe(30);
    }
    await expect(client.chat.update({ channel: 'C1', ts: '1.2', text: 'x' })).rejects.toBeInstanceOf(WebAPIRateLimitedError);
    // Calls the condition spares, and other methods, are answered as usual.
    await expect(client.chat.postMessage({ channel: 'C_SPARED', text: 'through' })).resolves.toMatchObject({ ok: true });
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(limit.active).toBe(true);

    limit.lift();
    limit.lift();
    expect(limit.active).toBe(false);
    await expect(client.chat.postMessage({ channel: 'C1', text: 'delivered' })).resolves.toMatchObject({ ok: true });
    // The respondWith answer set before the outage is back in force.
    await expect(client.chat.postMessage({ channel: 'C_PRIVATE', text: 'refused' })).rejects.toBeInstanceOf(WebAPIPlatformError);

    expect(fake.callsOf('chat.postMessage').map((call) => call.answer)).toEqual([
      { status: 429, ok: false },
      { status: 429, ok: false },
      { status: 429, ok: false },
      { status: 200, ok: true },
      { status: 200, ok: true },
      { status: 200, ok: false },
    ]);
    expect(fake.deliveredCallsOf('chat.postMessage').map((call) => call.args.text)).toEqual(['through', 'delivered']);
  });

  it('lifts every outage on reset', async () => {
    const client = clientWithToken(BOT_TOKEN, { rejectRateLimitedCalls: true });
    const down = fake.outage(['chat.postMessage'], () => ({ status: 503, body: 'down' }));
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toBeInstanceOf(WebAPIHTTPError);
    fake.reset();
    expect(down.active).toBe(false);
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).resolves.toMatchObject({ ok: true });
  });

  it('answers a wrong token with invalid_auth', async () => {
    const client = clientWithToken('xoxb-test-wrong');

    await expect(client.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    expect(fake.lastCall('auth.test')).toMatchObject({ token: 'xoxb-test-wrong', tokenAccepted: false });
  });

  it('waits for calls and explains what it saw when one never comes', async () => {
    const client = clientWithToken(BOT_TOKEN);
    const waiting = fake.waitForCall('views.open', (args) => args.trigger_id === 'T-2');
    await client.views.open({ trigger_id: 'T-1', view: { type: 'modal', title: { type: 'plain_text', text: 'A' }, blocks: [] } });
    await client.views.open({ trigger_id: 'T-2', view: { type: 'modal', title: { type: 'plain_text', text: 'B' }, blocks: [] } });

    const opened = await waiting;
    expect(opened.args.view.title.text).toBe('B');
    await expect(fake.waitForCall('chat.postEphemeral', undefined, 50)).rejects.toThrow(/views\.open ×2/);
  });
});

describe('signSlackRequest', () => {
  const body = 'token=x&team_id=T0TEAM&command=%2Fbreakglass&text=prod-db';

  it("produces a signature Bolt's verifySlackRequest accepts", () => {
    const headers = signSlackRequest(SIGNING_SECRET, body);

    expect(() =>
      verifySlackRequest({
        signingSecret: SIGNING_SECRET,
        body,
        headers: { 'x-slack-signature': headers['x-slack-signature'], 'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']) },
      }),
    ).not.toThrow();
  });

  it('is rejected when the body is tampered with', () => {
    const headers = signSlackRequest(SIGNING_SECRET, body);

    expect(() =>
      verifySlackRequest({
        signingSecret: SIGNING_SECRET,
        body: body.replace('prod-db', 'prod-everything'),
        headers: { 'x-slack-signature': headers['x-slack-signature'], 'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']) },
      }),
    ).toThrow(/signature mismatch/);
  });
});

/** The sender's payloads and the fake API, driven through a real Bolt app to prove they fit together. */
describe('SlackRequestSender against a Bolt app', () => {
  const fake = new FakeSlackApi({ expectedToken: BOT_TOKEN });
  let app: App;
  let slack: SlackRequestSender;

  beforeAll(async () => {
    await fake.start();
    app = new App({
      token: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 } },
    });
    app.command('/breakglass', async ({ ack, command, client, respond }) => {
      await ack({ response_type: 'ephemeral', text: `Requesting ${command.text}` });
      await respond({ text: 'working on it' });
      await client.chat.postMessage({
        channel: command.channel_id,
        text: `Access request: ${command.text}`,
        blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'approve', value: command.text, text: { type: 'plain_text', text: 'Approve' } }] }],
      });
    });
    app.action('approve', async ({ ack, body, client }) => {
      await ack();
      if (body.type !== 'block_actions' || body.actions[0].type !== 'button') throw new Error('expected a button click');
      await client.views.open({
        trigger_id: body.trigger_id,
        view: { type: 'modal', callback_id: 'approve_modal', private_metadata: body.actions[0].value ?? '', title: { type: 'plain_text', text: 'Approve' }, blocks: [] },
      });
    });
    app.action('duration', async ({ ack, body, client }) => {
      await ack();
      if (body.type !== 'block_actions' || body.actions[0].type !== 'static_select' || !body.view) throw new Error('expected a select in a modal');
      await client.views.update({ view_id: body.view.id, view: { type: 'modal', title: { type: 'plain_text', text: body.actions[0].selected_option.value }, blocks: [] } });
    });
    app.view('approve_modal', async ({ ack, view, body, client }) => {
      await ack();
      await client.chat.postMessage({
        channel: `D${body.user.id}`,
        text: `${view.private_metadata} approved: ${view.state.values.reason.reason_input.value} for ${view.state.values.duration.duration.selected_option?.value}`,
      });
    });
    const server = (await app.start(0)) as Server;
    slack = new SlackRequestSender({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      signingSecret: SIGNING_SECRET,
      responseUrl: () => fake.responseUrl(),
    });
  });

  afterAll(async () => {
    await app?.stop();
    await fake.stop();
  });

  it('runs a slash command, a button, a select and a modal submission end to end', async () => {
    const command = await slack.slashCommand({ userId: 'U1', channelId: 'C1', text: 'prod-db please' });
    expect(command.status).toBe(200);
    expect(command.json()).toEqual({ response_type: 'ephemeral', text: 'Requesting prod-db please' });
    expect((await fake.waitForCall('response_url')).args).toEqual({ text: 'working on it' });
    const posted = await fake.waitForCall('chat.postMessage', (args) => args.channel === 'C1');
    expect(posted.args.blocks[0].elements[0].action_id).toBe('approve');

    const click = await slack.blockAction({ userId: 'U2', channelId: 'C1', actionId: 'approve', value: 'prod-db please' });
    expect(click.status).toBe(200);
    const opened = await fake.waitForCall('views.open');
    expect(opened.args.view).toMatchObject({ callback_id: 'approve_modal', private_metadata: 'prod-db please' });

    const select = await slack.selectAction({
      userId: 'U2',
      actionId: 'duration',
      blockId: 'duration',
      selectedValue: '30m',
      view: { id: 'V_MODAL', callbackId: 'approve_modal' },
    });
    expect(select.status).toBe(200);
    expect((await fake.waitForCall('views.update')).args).toMatchObject({ view_id: 'V_MODAL', view: { title: { text: '30m' } } });

    const submission = await slack.viewSubmission({
      userId: 'U2',
      callbackId: 'approve_modal',
      privateMetadata: 'prod-db please',
      values: { reason: { reason_input: plainTextInputValue('incident 42') }, duration: { duration: staticSelectValue('30m', '30 minutes') } },
    });
    expect(submission.status).toBe(200);
    const confirmation = await fake.waitForCall('chat.postMessage', (args) => args.channel === 'DU2');
    expect(confirmation.args.text).toBe('prod-db please approved: incident 42 for 30m');
    expect(fake.calls.every((call) => call.tokenAccepted)).toBe(true);
  });

  it('is refused by Bolt when stale or badly signed, while future-dated requests pass', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    const stale = await slack.slashCommand({ userId: 'U1', channelId: 'C1', text: 'x', timestampSec: nowSec - 10 * 60 });
    const badSignature = await slack.slashCommand({ userId: 'U1', channelId: 'C1', text: 'x', signature: 'v0=deadbeef' });
    const unsigned = await slack.send('command=%2Fbreakglass', 'application/x-www-form-urlencoded', { 'x-slack-signature': undefined });
    // Bolt only rejects old timestamps; a future-dated one still has to carry a valid signature for its own time.
    const futureDated = await slack.slashCommand({ userId: 'U1', channelId: 'C_FUTURE', text: 'x', timestampSec: nowSec + 10 * 60 });

    expect([stale.status, badSignature.status, unsigned.status]).toEqual([401, 401, 401]);
    expect(futureDated.status).toBe(200);
    // Let the accepted command finish before the fake API stops under it.
    await fake.waitForCall('chat.postMessage', (args) => args.channel === 'C_FUTURE');
    expect(fake.callsOf('chat.postMessage').filter((call) => call.args.text === 'Access request: x')).toHaveLength(1);
  });
});
