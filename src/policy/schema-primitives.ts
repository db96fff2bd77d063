import { z } from 'zod';
import { parseDuration } from '../domain/duration';

// ---------------------------------------------------------------------------------------------------------------
// The building blocks of the policy schema (policy-schema.ts). Each one checks a value and, when it is wrong, says
// so in the words the policy's readers expect ("\"2x\" is not a duration (…)"); policy-issues.ts puts the file and
// the path in front. Values that often hold secrets (URLs, webhook secrets, command env) are never repeated.

/** Reports one problem with the value being checked; the message is the whole sentence after the path. */
export type Report = (message: string) => void;

function reporter(ctx: z.core.$RefinementCtx<unknown>): Report {
  return (message) => ctx.addIssue({ code: 'custom', message });
}

/** How a value reads in a message. Never used for URLs or secrets. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

export const SLACK_USER_PATTERN = /^[UW][A-Z0-9]+$/;
const SLACK_PRINCIPAL_PATTERN = /^[UWS][A-Z0-9]+$/;
const SLACK_CHANNEL_PATTERN = /^[CG][A-Z0-9]+$/;
const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const REFERENCE_PATTERN = /\$\$\{|\$\{([^}]*)(\})?/g;
export const VARIABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

// ---------------------------------------------------------------------------------------------------------------
// ${VAR} interpolation. The environment is the one parsePolicy was given; parsing is synchronous, so it is set for
// the duration of one parse (withEnvironment) and every text value in every section reads it.

let activeEnvironment: NodeJS.ProcessEnv | null = null;

export function withEnvironment<T>(env: NodeJS.ProcessEnv, parse: () => T): T {
  const previous = activeEnvironment;
  activeEnvironment = env;
  try {
    return parse();
  } finally {
    activeEnvironment = previous;
  }
}

/** Replaces ${VAR} with the environment's value; `$${` stands for a literal `${`. Unset or empty variables are
 * errors: a secret that silently becomes "" would break access at the worst moment. Undefined after a problem. */
function interpolate(text: string, report: Report): string | undefined {
  const env = activeEnvironment;
  if (!env) throw new Error('policy text read outside withEnvironment()');
  let failed = false;
  const fail = (message: string) => {
    failed = true;
    report(message);
    return '';
  };
  const result = text.replace(REFERENCE_PATTERN, (reference: string, name: string | undefined, closing?: string) => {
    if (reference === '$${') return '${';
    if (closing === undefined) return fail('unterminated ${ (write ${NAME}, or $${ for a literal ${)');
    if (!VARIABLE_NAME_PATTERN.test(name ?? '')) return fail(`${reference} is not a valid environment variable reference`);
    const value = env[name as string];
    if (value === undefined) return fail(`environment variable ${name} is not set (referenced as ${reference})`);
    if (value === '') return fail(`environment variable ${name} is empty (referenced as ${reference})`);
    return value;
  });
  return failed ? undefined : result;
}

// ---------------------------------------------------------------------------------------------------------------
// Mappings and lists.

/** Marks an unknown-keys issue; policy-issues.ts turns it into one line per key, with a typo hint. */
export const UNKNOWN_KEYS_MARK = '\u0000unknown keys:';

/** A mapping with exactly these keys. `shape` is in checking order (which orders the messages); `hintOrder`, when
 * given, is the order the keys are listed in when an unknown key has no close match. */
export function mapping<Shape extends z.ZodRawShape>(shape: Shape, options: { hintOrder?: readonly string[] } = {}) {
  const allowed = options.hintOrder ?? Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? UNKNOWN_KEYS_MARK + JSON.stringify(allowed) : `expected a mapping (key: value), got ${describeValue(issue.input)}`),
  });
}

/** A list; `missing` is the message when the key is absent (for required lists). */
export function list<Item extends z.ZodType>(item: Item, options: { missing?: string } = {}) {
  return z.array(item, {
    error: (issue) => (issue.input === undefined && options.missing ? options.missing : `expected a list, got ${describeValue(issue.input)}`),
  });
}

/** Checks a whole list after its entries (repeats); runs even when some entries are wrong, and gets
 * the entries as parsed (or as written, for the wrong ones). */
export function checkList<T extends z.ZodType>(schema: T, check: (entries: unknown[], problemAt: (index: number, message: string) => void) => void) {
  return schema.superRefine(
    (entries, ctx) => {
      // Runs however the entries fared, so also on a value that is not a list at all (already reported).
      if (!Array.isArray(entries)) return;
      check(entries as unknown[], (index, message) => ctx.addIssue({ code: 'custom', message, path: [index], params: { listCheck: true } }));
    },
    { when: () => true },
  );
}

/** Reports entries whose `keyOf` equals an earlier entry's; `keyOf` gives undefined for entries that already have a
 * problem of their own. */
export function reportRepeats(entries: unknown[], problemAt: (index: number, message: string) => void, keyOf: (entry: unknown) => unknown, show: (entry: unknown) => string): void {
  const seen = new Set<unknown>();
  entries.forEach((entry, index) => {
    const key = keyOf(entry);
    if (key === undefined) return;
    if (seen.has(key)) problemAt(index, `${show(entry)} is listed twice`);
    else seen.add(key);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Values.

interface TextOptions<T> {
  /** Values that may hold secrets: a wrong type reads "something else". */
  sensitive?: boolean;
  /** The message when the key is absent (for required keys). */
  missing?: string;
  /** Further checks on the interpolated text (`written` is the text before interpolation). */
  check?: (text: string, report: Report, written: string) => T | undefined;
}

/** Non-empty text with ${VAR} references replaced from the environment. */
export function text<T = string>(options: TextOptions<T> = {}) {
  return z
    .string({
      error: (issue) => {
        if (issue.input === undefined && options.missing) return options.missing;
        return `expected text, got ${options.sensitive ? 'something else' : describeValue(issue.input)}`;
      },
    })
    .transform((written, ctx): T => {
      const report = reporter(ctx);
      const value = interpolate(written, report);
      if (value === undefined) return z.NEVER;
      if (value.trim() === '') {
        report('must not be empty');
        return z.NEVER;
      }
      if (!options.check) return value as T;
      let failed = false;
      const result = options.check(
        value,
        (message) => {
          failed = true;
          report(message);
        },
        written,
      );
      return failed || result === undefined ? z.NEVER : result;
    });
}

export const id = () =>
  text({
    missing: 'missing',
    check: (value, report) => {
      if (ID_PATTERN.test(value)) return value;
      report(`${describeValue(value)} is not a valid id (lowercase letters, digits, "-" and "_", starting with a letter or digit)`);
    },
  });

/** What the written value shows in a Slack-id message: the JSON schema allows ${VAR} there too. */
function notAChannelId(value: string): string {
  return `${describeValue(value)} is not a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")`;
}

export const channelId = () =>
  text({
    check: (value, report) => {
      if (SLACK_CHANNEL_PATTERN.test(value)) return value;
      report(notAChannelId(value));
    },
  }).meta({ description: 'A Slack channel id (C… or G…), not a name' });

const DURATION_HINT = 'use 45s, 30m, 2h or 1d';
/** parseDuration's grammar, for editors (the 365-day limit is checked by the bot). */
const DURATION_JSON_PATTERN = '^\\s*(?:[0-9]+[dD])?\\s*(?:[0-9]+[hH])?\\s*(?:[0-9]+[mM])?\\s*(?:[0-9]+[sS])?\\s*$';

function notADuration(value: unknown): string {
  const unitHint = typeof value === 'number' ? '; add a unit' : '';
  return `${describeValue(value)} is not a duration (${DURATION_HINT}${unitHint}, at most 365d)`;
}

/** A duration as written (`45s`, `30m`, `2h`, `1d`, `1h30m`), as seconds; `atMost` adds an upper bound. */
export function duration(atMost?: { seconds: number; message: (value: string) => string }) {
  return z
    .string({ error: (issue) => notADuration(issue.input) })
    .meta({ pattern: DURATION_JSON_PATTERN })
    .transform((value, ctx) => {
      const seconds = parseDuration(value);
      if (seconds === null) {
        ctx.addIssue({ code: 'custom', message: notADuration(value), input: value });
        return z.NEVER;
      }
      if (atMost && seconds > atMost.seconds) {
        ctx.addIssue({ code: 'custom', message: atMost.message(value), input: value });
        return z.NEVER;
      }
      return seconds;
    });
}

/** A whole number of at least `minimum` (1 or 0). */
export function wholeNumber(minimum: 0 | 1) {
  const message = (issue: { input?: unknown }) => `${describeValue(issue.input)} is not a whole number of at least ${minimum}`;
  return z.number({ error: message }).int({ error: message, abort: true }).min(minimum, { error: message });
}

export const yesNo = () => z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` });

/** Checked with RegExp#test; `null` clears a pattern inherited from the resource or defaults. */
export const ticketPattern = () =>
  text({
    check: (source, report) => {
      try {
        return new RegExp(source);
      } catch (error) {
        report(`${describeValue(source)} is not a valid regular expression (${(error as Error).message})`);
      }
    },
  }).nullable();

/** Slack user ids (U…/W…), with `groups` user-group ids (S…), with `everyone` "*", with `onCall` on-call schedules
 * (schedule:<name>, pagerduty:<ID>; whether they name something is checked once the file is read, see
 * schedules-schema.ts). Written as is (no ${VAR}). */
export function principals(options: { everyone: boolean; groups: boolean; allowEmpty?: boolean; onCall?: boolean }) {
  const pattern = options.groups ? SLACK_PRINCIPAL_PATTERN : SLACK_USER_PATTERN;
  const onCall = options.onCall ? ', an on-call schedule (schedule:<name> or pagerduty:<SCHEDULE_ID>)' : '';
  const expected = options.groups ? `a Slack user id (U…/W…) or user-group id (S…)${onCall}` : 'a Slack user id (U…/W…)';
  const wrong = (value: unknown) => {
    if (value === '*') return '"*" is not allowed here; name the people (U…) or user groups (S…)';
    return `${describeValue(value)} is not ${expected}${options.everyone ? ', or "*" for everyone' : ''}`;
  };
  const alternatives = [pattern.source.slice(1, -1)];
  if (options.everyone) alternatives.unshift('\\*');
  if (options.onCall) alternatives.push(ON_CALL_PRINCIPAL_PATTERN.source.slice(1, -1));
  const jsonPattern = alternatives.length === 1 ? pattern : new RegExp(`^(?:${alternatives.join('|')})$`);
  const principal = z.string({ error: (issue) => wrong(issue.input) }).regex(jsonPattern, { error: (issue) => wrong(issue.input) });
  const keyOf = (entry: unknown) => (typeof entry === 'string' && jsonPattern.test(entry) ? entry : undefined);
  const repeats = checkList(list(principal), (entries, problemAt) => reportRepeats(entries, problemAt, keyOf, String));
  return options.allowEmpty ? repeats : repeats.check(z.minLength(1, { error: 'must not be empty' }));
}

/** The shape of an on-call principal; what it names is checked by schedules-schema.ts. */
const ON_CALL_PRINCIPAL_PATTERN = /^(?:schedule|pagerduty):\S+$/;

/** Non-empty list of distinct channel ids; `null` (on the caller) turns an inherited list off. */
export const channelList = () =>
  checkList(list(channelId()), (entries, problemAt) =>
    reportRepeats(entries, problemAt, (entry) => (typeof entry === 'string' && SLACK_CHANNEL_PATTERN.test(entry) ? entry : undefined), describeValue),
  ).check(z.minLength(1, { error: 'must list at least one channel id; leave it out (or write null) to allow any channel' }));
