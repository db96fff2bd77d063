import { isValidSlackRequest } from '@slack/bolt';
import express, { type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ActionIds, EmergencyConfirmModal, ExtendModal, FlagModal, RequestModal } from './blocks/action-ids';

/** The most Slack's route reads of a body: Bolt's own default. Slack's largest payloads (a view submission with its
 * whole modal) are far smaller. */
export const SLACK_BODY_LIMIT = 4 * 1024 * 1024;

const FORM = 'application/x-www-form-urlencoded';
const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CDG][A-Z0-9]{2,}$/;

/** What the guard does with a signed request: hand it to Bolt, answer 200 and drop it (well formed, but nothing of
 * ours listens to it: Bolt would leave it unanswered for 3 s and log an error), or refuse it as malformed (400). */
type Verdict = { pass: true } | { pass: false; status: 200 | 400; why: string };

const pass: Verdict = { pass: true };
const ignore = (why: string): Verdict => ({ pass: false, status: 200, why });
const malformed = (why: string): Verdict => ({ pass: false, status: 400, why });

/** A channel archived (its incident closed) or unarchived; Slack may leave out who did it. */
const ARCHIVE_EVENTS = ['channel_archive', 'group_archive', 'channel_unarchive', 'group_unarchive'];
const ourActions: ReadonlySet<string> = new Set(Object.values(ActionIds));
const ourViews: ReadonlySet<string> = new Set([RequestModal.callbackId, ExtendModal.callbackId, EmergencyConfirmModal.callbackId, FlagModal.callbackId]);
const ourCommands: ReadonlySet<string> = new Set(['/breakglass']);
const ourEvents: ReadonlySet<string> = new Set(['app_home_opened', ...ARCHIVE_EVENTS]);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isUserId = (value: unknown) => isString(value) && USER_ID.test(value);

/** Parses a body the way Bolt does (a form whose `payload` field holds JSON, else JSON), or null when it is none. */
function parse(raw: string, contentType: string | undefined): unknown {
  try {
    if (contentType === FORM) {
      const form = new URLSearchParams(raw);
      const payload = form.get('payload');
      return payload !== null ? JSON.parse(payload) : Object.fromEntries(form);
    }
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function judgeCommand(body: Json): Verdict {
  if (!ourCommands.has(String(body.command))) return ignore(`a command that is not ours: ${String(body.command).slice(0, 40)}`);
  if (!isUserId(body.user_id)) return malformed('a command without a valid user_id');
  if (!isString(body.channel_id) || !CHANNEL_ID.test(body.channel_id)) return malformed('a command without a valid channel_id');
  if (body.text !== undefined && !isString(body.text)) return malformed('a command whose text is not a string');
  if (!isString(body.response_url) || !isString(body.trigger_id)) return malformed('a command without response_url or trigger_id');
  return pass;
}

/** `state.values`: `{ [blockId]: { [actionId]: { value?: string | null, selected_option?: { value: string } | null } } }`. */
function stateValuesOk(values: unknown): boolean {
  if (!isObject(values)) return false;
  return Object.values(values).every(
    (block) =>
      isObject(block) &&
      Object.values(block).every(
        (input) =>
          isObject(input) &&
          (input.value === undefined || input.value === null || isString(input.value)) &&
          (input.selected_option === undefined || input.selected_option === null || (isObject(input.selected_option) && isString(input.selected_option.value))),
      ),
  );
}

function judgeBlockActions(body: Json): Verdict {
  if (!Array.isArray(body.actions) || body.actions.length === 0) return malformed('block_actions without actions');
  const [action] = body.actions as unknown[];
  if (!isObject(action) || !isString(action.action_id)) return malformed('block_actions whose action has no action_id');
  if (!ourActions.has(action.action_id)) return ignore(`an action that is not ours: ${action.action_id.slice(0, 60)}`);
  if (!isObject(body.user) || !isUserId(body.user.id)) return malformed('block_actions without a valid user');
  if (!isString(body.trigger_id)) return malformed('block_actions without a trigger_id');
  if (action.action_id === ActionIds.modalResource) {
    const option = action.selected_option;
    if (!isObject(option) || !isString(option.value)) return malformed('a resource choice without a selected option');
    const view = body.view;
    if (view !== undefined && !(isObject(view) && isString(view.id) && isString(view.private_metadata))) return malformed('a resource choice from a malformed view');
    return pass;
  }
  if (!isString(action.value)) return malformed('a button without a string value');
  for (const key of ['channel', 'container'] as const)
    if (body[key] !== undefined && body[key] !== null && !isObject(body[key])) return malformed(`block_actions whose ${key} is no object`);
  return pass;
}

function judgeViewSubmission(body: Json): Verdict {
  const view = body.view;
  if (!isObject(view)) return malformed('a view_submission without a view');
  if (!ourViews.has(String(view.callback_id))) return ignore(`a view that is not ours: ${String(view.callback_id).slice(0, 60)}`);
  if (!isObject(body.user) || !isUserId(body.user.id)) return malformed('a view_submission without a valid user');
  if (!isString(view.private_metadata)) return malformed('a view_submission without private_metadata');
  if (!isObject(view.state) || !stateValuesOk(view.state.values)) return malformed('a view_submission with malformed state');
  return pass;
}

function judgeEvent(body: Json): Verdict {
  const event = body.event;
  if (!isObject(event) || !isString(event.type)) return malformed('an event_callback without an event type');
  if (!ourEvents.has(event.type)) return ignore(`an event that is not ours: ${event.type.slice(0, 60)}`);
  if (ARCHIVE_EVENTS.includes(event.type)) {
    if (!isString(event.channel) || !CHANNEL_ID.test(event.channel)) return malformed(`${event.type} without a valid channel`);
    return event.user === undefined || isUserId(event.user) ? pass : malformed(`${event.type} with an invalid user`);
  }
  if (!isUserId(event.user)) return malformed(`${event.type} without a valid user`);
  return pass;
}

/** Decides what to do with a parsed, signed request body. */
export function judgeSlackBody(body: unknown): Verdict {
  if (!isObject(body)) return malformed('a body that is not a JSON object');
  if (body.ssl_check !== undefined) return pass;
  if (body.command !== undefined) return judgeCommand(body);
  switch (body.type) {
    case 'url_verification':
      return isString(body.challenge) ? pass : malformed('url_verification without a challenge');
    case 'event_callback':
      return judgeEvent(body);
    case 'block_actions':
      return judgeBlockActions(body);
    case 'view_submission':
      return judgeViewSubmission(body);
    case 'app_rate_limited':
    case 'view_closed':
    case 'shortcut':
    case 'message_action':
    case 'block_suggestion':
    case 'interactive_message':
    case 'dialog_submission':
    case 'dialog_cancellation':
    case 'workflow_step_edit':
      return ignore(`a ${body.type} request, which the bot does not use`);
    default:
      return malformed(`a request of unknown type ${isString(body.type) ? body.type.slice(0, 40) : typeof body.type}`);
  }
}

/** In front of Bolt on Slack's route: reads the body (at most SLACK_BODY_LIMIT: 413 beyond), checks its signature
 * (401, as Bolt would), and lets through only requests the bot's listeners can handle, with the fields they read of
 * the types they expect. A malformed one gets a 400 and a well-formed one nobody listens to an empty 200, at once and
 * logged, instead of crashing a listener or Bolt (a 500) or waiting 3 s for an ack that never comes. Bolt then
 * reads the same bytes (`req.rawBody`) and verifies them again. */
export function guardSlackRequests({ signingSecret, logger }: { signingSecret: string; logger: Logger }): RequestHandler[] {
  const readBody = express.raw({ type: () => true, limit: SLACK_BODY_LIMIT, inflate: false });
  const read: RequestHandler = (req, res, next) => {
    readBody(req, res, (err?: unknown) => {
      if (!err) return next();
      const { status, type } = (err ?? {}) as { status?: number; type?: string };
      const tooLarge = status === 413 || type === 'entity.too.large';
      logger.info({ status, type }, tooLarge ? 'Slack route: body over the size limit, refused' : 'Slack route: body could not be read, refused');
      // The rest of an oversized body is never read: the connection must not be reused for another request.
      res.set('Connection', 'close');
      res.status(tooLarge ? 413 : (status ?? 400) < 500 ? (status ?? 400) : 400).send();
    });
  };
  const judge: RequestHandler = (req, res, next) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString() : '';
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const signature = header('x-slack-signature');
    const timestamp = Number(header('x-slack-request-timestamp'));
    if (
      !signature ||
      !Number.isFinite(timestamp) ||
      !isValidSlackRequest({ signingSecret, body: raw, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } })
    ) {
      res.status(401).send();
      return;
    }
    const verdict = judgeSlackBody(parse(raw, header('content-type')));
    if (!verdict.pass) {
      logger.info({ status: verdict.status }, `Slack route: ${verdict.why}; ${verdict.status === 200 ? 'ignored' : 'refused'}`);
      res.status(verdict.status).send();
      return;
    }
    // Bolt's body parser takes these bytes instead of reading the (already consumed) stream again.
    (req as typeof req & { rawBody?: Buffer }).rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    next();
  };
  return [read, judge];
}
