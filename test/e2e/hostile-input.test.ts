import { randomUUID } from 'node:crypto';
import { ActionIds, ExtendModal, RequestModal } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { requestAccess, startE2eBot } from './e2e-helpers';
import { APPROVER1, CHANNEL, REQUESTER } from './policy-fixture';

/** Every request Slack could send, however malformed, over signed HTTP to the real bot: each gets a 4xx or a 200,
 * never a 5xx; none changes a row; none makes the bot log an unhandled error; and the bot still serves a normal
 * request afterwards. A pending request exists throughout, so clicks that name it but are otherwise broken
 * (no user, no container) would show if they approved it. */
const target = new TargetDatabase();
let harness: BotHarness;
let pendingId: string;
/** Where the log lines written by the table start. */
let logsFrom = 0;

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

beforeAll(async () => {
  ({ harness } = await startE2eBot(target, undefined, { harness: { captureLogs: true } }));
  const { request } = await requestAccess(harness, 'payments-db write 30m INC-7 a pending request to aim at');
  pendingId = request.id;
  logsFrom = harness.logs.length;
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const payload = (value: unknown) => form({ payload: typeof value === 'string' ? value : JSON.stringify(value) });

function slashFields(overrides: Record<string, string | undefined>): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    token: 'fake-verification-token',
    team_id: 'T0TEAM',
    team_domain: 'test',
    channel_id: CHANNEL,
    channel_name: 'breakglass-test',
    user_id: REQUESTER,
    user_name: 'requester',
    command: '/breakglass',
    text: 'list',
    api_app_id: 'A0TESTAPP',
    response_url: harness.slack.responseUrl(),
    trigger_id: '1.2.3',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** A button click; `overrides` replace (or, when undefined, remove) top-level fields. */
function click(action: Record<string, unknown> | null, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: 'block_actions',
    user: { id: APPROVER1, username: 'approver1', team_id: 'T0TEAM' },
    api_app_id: 'A0TESTAPP',
    token: 'fake-verification-token',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: '1.2.3',
    team: { id: 'T0TEAM', domain: 'test' },
    channel: { id: CHANNEL, name: 'breakglass-test' },
    state: { values: {} },
    response_url: harness.slack.responseUrl(),
    actions: action ? [{ type: 'button', block_id: 'b', action_ts: '1700000000.000200', text: { type: 'plain_text', text: 'x' }, ...action }] : [],
    ...overrides,
  };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete body[key];
  return body;
}

function submission(view: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: 'view_submission',
    team: { id: 'T0TEAM', domain: 'test' },
    user: { id: REQUESTER, username: 'requester', team_id: 'T0TEAM' },
    api_app_id: 'A0TESTAPP',
    token: 'fake-verification-token',
    trigger_id: '1.2.3',
    view: { id: 'V0HOSTILE', type: 'modal', team_id: 'T0TEAM', private_metadata: CHANNEL, callback_id: RequestModal.callbackId, state: { values: {} }, ...view },
    response_urls: [],
    ...overrides,
  };
  for (const [key, value] of Object.entries(view)) if (value === undefined) delete (body.view as Record<string, unknown>)[key];
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete body[key];
  return body;
}

function event(inner: Record<string, unknown> | undefined, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    token: 'fake-verification-token',
    team_id: 'T0TEAM',
    api_app_id: 'A0TESTAPP',
    type: 'event_callback',
    event_id: `Ev${randomUUID()}`,
    event_time: Math.floor(Date.now() / 1000),
    ...(inner ? { event: { event_ts: '1700000000.000300', ...inner } } : {}),
    ...overrides,
  });
}

const modalValues = (fields: { duration?: string; ticket?: string; reason?: string }) => ({
  [RequestModal.blocks.resource.blockId]: { [RequestModal.blocks.resource.actionId]: { type: 'static_select', selected_option: { value: 'payments-db' } } },
  [`${RequestModal.blocks.role.blockId}:payments-db`]: { [RequestModal.blocks.role.actionId]: { type: 'static_select', selected_option: { value: 'read' } } },
  [RequestModal.blocks.duration.blockId]: { [RequestModal.blocks.duration.actionId]: { type: 'plain_text_input', value: fields.duration ?? '30m' } },
  [RequestModal.blocks.ticket.blockId]: { [RequestModal.blocks.ticket.actionId]: { type: 'plain_text_input', value: fields.ticket ?? 'INC-1' } },
  [RequestModal.blocks.reason.blockId]: { [RequestModal.blocks.reason.actionId]: { type: 'plain_text_input', value: fields.reason ?? 'hostile' } },
});

/** [what, the status it gets, its body and content type]: 400 for what is malformed, 413 for what is too large, 200
 * for what is well formed (handled, or nothing of ours listens to it). Bodies are built lazily because some need the
 * harness (response URLs) or the pending request's id. */
type Case = [string, 200 | 400 | 413, () => { body: string | Buffer; contentType?: string }];
const buttonIds = Object.values(ActionIds).filter((id) => id !== ActionIds.modalResource);

const cases: Case[] = [
  // Slash commands
  ['a slash command without user_id', 400, () => ({ body: form(slashFields({ user_id: undefined, text: 'payments-db read 30m INC-1 no user' })), contentType: FORM })],
  ['a slash command without channel_id', 400, () => ({ body: form(slashFields({ channel_id: undefined, text: 'payments-db read 30m INC-1 no channel' })), contentType: FORM })],
  ['a slash command without text', 200, () => ({ body: form(slashFields({ text: undefined })), contentType: FORM })],
  ['a slash command without command', 400, () => ({ body: form(slashFields({ command: undefined })), contentType: FORM })],
  ['a slash command of another app', 200, () => ({ body: form(slashFields({ command: '/other', text: 'payments-db read 30m INC-1 x' })), contentType: FORM })],
  ['a slash command with control characters and 20k of text', 200, () => ({ body: form(slashFields({ text: `\u0000\u0007\u001b[31m${'x'.repeat(20_000)}` })), contentType: FORM })],
  [
    'a slash command with a ticket of 5000 characters',
    200,
    () => ({ body: form(slashFields({ text: `payments-db read 30m ${'A'.repeat(5000)}-1 long ticket` })), contentType: FORM }),
  ],
  ['a slash command with a reason of 50k characters', 200, () => ({ body: form(slashFields({ text: `payments-db read 30m INC-1 ${'y'.repeat(50_000)}` })), contentType: FORM })],
  ['a slash command with a duration of 10^30 seconds', 200, () => ({ body: form(slashFields({ text: `payments-db read ${'9'.repeat(30)}s INC-1 huge` })), contentType: FORM })],
  ['status of a request number past 2^31', 200, () => ({ body: form(slashFields({ text: 'status BG-999999999' })), contentType: FORM })],
  [
    'a slash command with a user id that is not a Slack id',
    400,
    () => ({ body: form(slashFields({ user_id: '<!channel>', text: 'payments-db read 30m INC-1 odd user' })), contentType: FORM }),
  ],
  ['a form body of nothing', 400, () => ({ body: '', contentType: FORM })],
  // Interactivity payloads that are not what they claim
  ['payload= that is not JSON', 400, () => ({ body: payload('{"type": "block_actions", '), contentType: FORM })],
  ['payload= a JSON array', 400, () => ({ body: payload([]), contentType: FORM })],
  ['payload= a JSON number', 400, () => ({ body: payload('42'), contentType: FORM })],
  ['payload= JSON null', 400, () => ({ body: payload('null'), contentType: FORM })],
  ['payload= a JSON string', 400, () => ({ body: payload('"block_actions"'), contentType: FORM })],
  ['payload= an empty object', 400, () => ({ body: payload({}), contentType: FORM })],
  ['payload= of an unknown type', 400, () => ({ body: payload({ type: 'something_new', user: { id: APPROVER1 } }), contentType: FORM })],
  // Clicks
  ['block_actions with an empty actions list', 400, () => ({ body: payload(click(null)), contentType: FORM })],
  ['block_actions without actions', 400, () => ({ body: payload(click(null, { actions: undefined })), contentType: FORM })],
  ['block_actions with actions that is not a list', 400, () => ({ body: payload(click(null, { actions: { action_id: ActionIds.approve } })), contentType: FORM })],
  ['block_actions with an unknown action_id', 200, () => ({ body: payload(click({ action_id: 'breakglass_self_destruct', value: pendingId })), contentType: FORM })],
  ['Approve without a user', 400, () => ({ body: payload(click({ action_id: ActionIds.approve, value: pendingId }, { user: undefined })), contentType: FORM })],
  ['Approve with a user without an id', 400, () => ({ body: payload(click({ action_id: ActionIds.approve, value: pendingId }, { user: { name: 'x' } })), contentType: FORM })],
  ['Approve with a user that is a string', 400, () => ({ body: payload(click({ action_id: ActionIds.approve, value: pendingId }, { user: APPROVER1 })), contentType: FORM })],
  [
    'Approve without container, channel or message',
    200,
    () => ({ body: payload(click({ action_id: ActionIds.approve, value: 'not-a-request' }, { container: undefined, channel: undefined })), contentType: FORM }),
  ],
  ...buttonIds.flatMap((actionId): Case[] => [
    [`${actionId} with a value that is no request id`, 200, () => ({ body: payload(click({ action_id: actionId, value: 'DROP TABLE "AccessRequest"; --' })), contentType: FORM })],
    [`${actionId} with an id that does not exist`, 200, () => ({ body: payload(click({ action_id: actionId, value: randomUUID() })), contentType: FORM })],
    [`${actionId} without a value`, 400, () => ({ body: payload(click({ action_id: actionId })), contentType: FORM })],
    [`${actionId} with a value that is an object`, 400, () => ({ body: payload(click({ action_id: actionId, value: { id: pendingId } })), contentType: FORM })],
  ]),
  [
    'the modal resource select without a view',
    200,
    () => ({ body: payload(click({ type: 'static_select', action_id: ActionIds.modalResource, selected_option: { value: 'payments-db' } })), contentType: FORM }),
  ],
  [
    'the modal resource select with no selected option',
    400,
    () => ({
      body: payload(click({ type: 'static_select', action_id: ActionIds.modalResource }, { container: { type: 'view', view_id: 'V1' }, view: { id: 'V1', hash: 'h' } })),
      contentType: FORM,
    }),
  ],
  // Modal submissions
  ['a view_submission with an unknown callback_id', 200, () => ({ body: payload(submission({ callback_id: 'someone_elses_modal' })), contentType: FORM })],
  ['a request modal submission without view.state', 400, () => ({ body: payload(submission({ state: undefined })), contentType: FORM })],
  ['a request modal submission with state.values null', 400, () => ({ body: payload(submission({ state: { values: null } })), contentType: FORM })],
  ['a request modal submission without a user', 400, () => ({ body: payload(submission({ state: { values: modalValues({}) } }, { user: undefined })), contentType: FORM })],
  [
    'a request modal submission whose private_metadata is no channel',
    200,
    () => ({ body: payload(submission({ private_metadata: '<!channel> garbage', state: { values: modalValues({}) } })), contentType: FORM }),
  ],
  [
    'a request modal submission without private_metadata',
    400,
    () => ({ body: payload(submission({ private_metadata: undefined, state: { values: modalValues({}) } })), contentType: FORM }),
  ],
  [
    'an extend modal submission whose private_metadata is no request id',
    200,
    () => ({
      body: payload(
        submission({
          callback_id: ExtendModal.callbackId,
          private_metadata: 'garbage',
          state: { values: { [ExtendModal.blocks.duration.blockId]: { [ExtendModal.blocks.duration.actionId]: { type: 'plain_text_input', value: '30m' } } } },
        }),
      ),
      contentType: FORM,
    }),
  ],
  [
    'an extend modal submission for a request that does not exist',
    200,
    () => ({
      body: payload(
        submission({
          callback_id: ExtendModal.callbackId,
          private_metadata: randomUUID(),
          state: { values: { [ExtendModal.blocks.duration.blockId]: { [ExtendModal.blocks.duration.actionId]: { type: 'plain_text_input', value: '30m' } } } },
        }),
      ),
      contentType: FORM,
    }),
  ],
  [
    'an extend modal submission without view.state',
    400,
    () => ({ body: payload(submission({ callback_id: ExtendModal.callbackId, private_metadata: pendingId, state: undefined })), contentType: FORM }),
  ],
  ['a view_submission without a view', 400, () => ({ body: payload(submission({}, { view: undefined })), contentType: FORM })],
  ['a view_closed of an unknown modal', 200, () => ({ body: payload({ ...submission({ callback_id: 'x' }), type: 'view_closed', is_cleared: false }), contentType: FORM })],
  // Shortcuts and options
  [
    'a global shortcut nobody registered',
    200,
    () => ({ body: payload({ type: 'shortcut', callback_id: 'x', trigger_id: '1.2.3', user: { id: REQUESTER }, team: { id: 'T0TEAM' } }), contentType: FORM }),
  ],
  [
    'a message shortcut nobody registered',
    200,
    () => ({ body: payload({ type: 'message_action', callback_id: 'x', trigger_id: '1.2.3', user: { id: REQUESTER }, channel: { id: CHANNEL }, message: {} }), contentType: FORM }),
  ],
  [
    'an options request nobody registered',
    200,
    () => ({ body: payload({ type: 'block_suggestion', action_id: 'x', block_id: 'y', value: 'a', user: { id: REQUESTER } }), contentType: FORM }),
  ],
  ['a legacy interactive_message', 200, () => ({ body: payload({ type: 'interactive_message', callback_id: 'x', actions: [], user: { id: REQUESTER } }), contentType: FORM })],
  ['a dialog_submission', 200, () => ({ body: payload({ type: 'dialog_submission', callback_id: 'x', submission: {}, user: { id: REQUESTER } }), contentType: FORM })],
  // Events API
  ['url_verification', 200, () => ({ body: JSON.stringify({ type: 'url_verification', token: 't', challenge: 'challenge-accepted' }), contentType: JSON_TYPE })],
  ['ssl_check', 200, () => ({ body: form({ ssl_check: '1', token: 't' }), contentType: FORM })],
  ['an event_callback of an unknown event', 200, () => ({ body: event({ type: 'reaction_added', user: REQUESTER, reaction: 'fire' }), contentType: JSON_TYPE })],
  ['an event_callback without an event', 400, () => ({ body: event(undefined), contentType: JSON_TYPE })],
  ['an event_callback whose event has no type', 400, () => ({ body: event({ user: REQUESTER }), contentType: JSON_TYPE })],
  ['an app_home_opened without a user', 400, () => ({ body: event({ type: 'app_home_opened', tab: 'home' }), contentType: JSON_TYPE })],
  ['an app_home_opened with a user that is an object', 400, () => ({ body: event({ type: 'app_home_opened', tab: 'home', user: { id: REQUESTER } }), contentType: JSON_TYPE })],
  ['an app_home_opened for a user id that is not a Slack id', 400, () => ({ body: event({ type: 'app_home_opened', tab: 'home', user: '../../etc' }), contentType: JSON_TYPE })],
  [
    'an app_rate_limited notice',
    200,
    () => ({ body: JSON.stringify({ token: 't', type: 'app_rate_limited', team_id: 'T0TEAM', minute_rate_limited: 1, api_app_id: 'A0TESTAPP' }), contentType: JSON_TYPE }),
  ],
  // Bodies that are not what their content type says
  ['a JSON body that is not JSON', 400, () => ({ body: '{"type": "event_callback"', contentType: JSON_TYPE })],
  ['a JSON body that is null', 400, () => ({ body: 'null', contentType: JSON_TYPE })],
  ['a JSON body that is an array', 400, () => ({ body: '[]', contentType: JSON_TYPE })],
  ['a JSON body that is a number', 400, () => ({ body: '7', contentType: JSON_TYPE })],
  ['a JSON body that is a string', 400, () => ({ body: '"url_verification"', contentType: JSON_TYPE })],
  ['a JSON body that is empty', 400, () => ({ body: '', contentType: JSON_TYPE })],
  ['a JSON object of an unknown type', 400, () => ({ body: JSON.stringify({ type: 'something_new' }), contentType: JSON_TYPE })],
  ['a JSON object without a type', 400, () => ({ body: JSON.stringify({ hello: 'world' }), contentType: JSON_TYPE })],
  ['text/plain', 400, () => ({ body: 'payments-db read 30m INC-1 plain', contentType: 'text/plain' })],
  ['a form body sent as application/json', 400, () => ({ body: form(slashFields({ text: 'payments-db read 30m INC-1 wrong type' })), contentType: JSON_TYPE })],
  ['a form body with a charset parameter', 400, () => ({ body: form(slashFields({ text: 'list' })), contentType: `${FORM}; charset=utf-8` })],
  ['multipart/form-data', 400, () => ({ body: '--x\r\nContent-Disposition: form-data; name="payload"\r\n\r\n{}\r\n--x--\r\n', contentType: 'multipart/form-data; boundary=x' })],
  ['no content type', 400, () => ({ body: form(slashFields({ text: 'list' })) })],
  ['bytes that are not UTF-8', 400, () => ({ body: Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]), contentType: FORM })],
  ['a body over the size limit (5 MB)', 413, () => ({ body: payload({ type: 'block_actions', padding: 'x'.repeat(5 * 1024 * 1024) }), contentType: FORM })],
];

async function rowCounts() {
  const db = harness.db;
  const [requests, approvals, audit, effects, grants, extensions] = await Promise.all([
    db.accessRequest.count(),
    db.approval.count(),
    db.auditEvent.count(),
    db.effect.count(),
    db.grant.count(),
    db.extension.count(),
  ]);
  const pending = await harness.request(pendingId);
  return { requests, approvals, audit, effects, grants, extensions, pendingStatus: pending.status };
}

/** Log lines at error level (pino 50+) written since `from`. */
function errorLogs(from: number): string[] {
  return harness.logs
    .slice(from)
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.level >= 50)
    .map((entry) => `${entry.msg}${entry.err ? `: ${entry.err.message}` : ''}`);
}

/** What a hostile request may do at most: Bolt's work after the ack runs on; it is given this long to do harm. */
const SETTLE_MS = 300;

describe.each(cases)('%s', (what, status, build) => {
  it(`gets a ${status}, changes nothing and logs no unhandled error`, async () => {
    const before = await rowCounts();
    const logsFrom = harness.logs.length;
    const { body, contentType } = build();
    const response = await harness.sender.send(body as string, contentType as string, contentType === undefined ? { 'content-type': undefined } : {});
    expect(response.status).toBe(status);
    if (what === 'url_verification') expect(response.json()).toEqual({ challenge: 'challenge-accepted' });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    expect(await rowCounts()).toEqual(before);
    expect(errorLogs(logsFrom)).toEqual([]);
  });
});

it('still serves a normal request afterwards, and nothing in the whole table was logged as an error', async () => {
  const { request } = await requestAccess(harness, 'payments-db read 30m INC-8 after all that', REQUESTER);
  expect(request.status).toBe('PENDING');
  expect(errorLogs(logsFrom)).toEqual([]);
});
