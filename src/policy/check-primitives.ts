import { parseDuration } from '../domain/duration';
import { isOnCallPrincipal } from '../domain/on-call';

// ---------------------------------------------------------------------------------------------------------------
// Checking primitives. Each reader reports what is wrong at `path` and returns undefined, so checking continues and
// every problem in the file is collected.

export interface Checker {
  env: NodeJS.ProcessEnv;
  problems: string[];
  /** Checks an on-call principal (schedule:…, pagerduty:…) where they are allowed; returns what is wrong or null.
   * Unset: on-call principals are refused. */
  onCallProblem?: (principal: string) => string | null;
}

export function report(checker: Checker, path: string, message: string): undefined {
  checker.problems.push(path === '' ? message : `${path}: ${message}`);
  return undefined;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const SLACK_PRINCIPAL_PATTERN = /^[UWS][A-Z0-9]+$/;
export const SLACK_USER_PATTERN = /^[UW][A-Z0-9]+$/;
const DURATION_HINT = 'use 45s, 30m, 2h or 1d';

export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** How a value reads in a message. Never used for URLs or secrets. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export function readMapping(checker: Checker, value: unknown, path: string, allowedKeys: readonly string[]): Record<string, unknown> | undefined {
  if (!isMapping(value)) return report(checker, path, `expected a mapping (key: value), got ${describeValue(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowedKeys.includes(key)) report(checker, childPath(path, key), unknownKeyMessage(key, allowedKeys));
  }
  return value;
}

export function unknownKeyMessage(key: string, allowedKeys: readonly string[]): string {
  const suggestion = likelyMeant(key, allowedKeys);
  const hint = suggestion ? `did you mean "${suggestion}"?` : `allowed keys: ${allowedKeys.join(', ')}`;
  return `unknown key (${hint})`;
}

/** The candidate `typed` is most likely a typo of, if any. */
export function likelyMeant(typed: string, candidates: readonly string[]): string | undefined {
  return candidates.find((candidate) => isLikelyTypo(typed, candidate));
}

function isLikelyTypo(typed: string, intended: string): boolean {
  return typed.toLowerCase() === intended.toLowerCase() || editDistance(typed, intended) <= 2;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

export function readList(checker: Checker, value: unknown, path: string): unknown[] | undefined {
  if (!Array.isArray(value)) return report(checker, path, `expected a list, got ${describeValue(value)}`);
  return value;
}

/** Non-empty text with ${VAR} references replaced from the environment. */
export function readText(checker: Checker, value: unknown, path: string, options: { sensitive?: boolean } = {}): string | undefined {
  if (typeof value !== 'string') {
    const shown = options.sensitive ? 'something else' : describeValue(value);
    return report(checker, path, `expected text, got ${shown}`);
  }
  const text = interpolate(checker, value, path);
  if (text === undefined) return undefined;
  if (text.trim() === '') return report(checker, path, 'must not be empty');
  return text;
}

export const REFERENCE_PATTERN = /\$\$\{|\$\{([^}]*)(\})?/g;
export const VARIABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replaces ${VAR} with the environment's value; `$${` stands for a literal `${`. Unset or empty variables are
 * errors: a secret that silently becomes "" would break access at the worst moment. */
function interpolate(checker: Checker, text: string, path: string): string | undefined {
  const problemsBefore = checker.problems.length;
  const result = text.replace(REFERENCE_PATTERN, (reference: string, name: string | undefined, closing?: string) => {
    if (reference === '$${') return '${';
    if (closing === undefined) {
      report(checker, path, 'unterminated ${ (write ${NAME}, or $${ for a literal ${)');
      return '';
    }
    if (!VARIABLE_NAME_PATTERN.test(name ?? '')) {
      report(checker, path, `${reference} is not a valid environment variable reference`);
      return '';
    }
    const variable = name as string;
    const variableValue = checker.env[variable];
    if (variableValue === undefined) report(checker, path, `environment variable ${variable} is not set (referenced as ${reference})`);
    else if (variableValue === '') report(checker, path, `environment variable ${variable} is empty (referenced as ${reference})`);
    return variableValue ?? '';
  });
  return checker.problems.length === problemsBefore ? result : undefined;
}

export function readId(checker: Checker, value: unknown, path: string): string | undefined {
  const id = readText(checker, value, path);
  if (id === undefined) return undefined;
  if (!ID_PATTERN.test(id)) {
    return report(checker, path, `${describeValue(id)} is not a valid id (lowercase letters, digits, "-" and "_", starting with a letter or digit)`);
  }
  return id;
}

export function readDuration(checker: Checker, value: unknown, path: string): number | undefined {
  const seconds = typeof value === 'string' ? parseDuration(value) : null;
  if (seconds === null) {
    const unitHint = typeof value === 'number' ? '; add a unit' : '';
    return report(checker, path, `${describeValue(value)} is not a duration (${DURATION_HINT}${unitHint}, at most 365d)`);
  }
  return seconds;
}

export function readPositiveInteger(checker: Checker, value: unknown, path: string): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    return report(checker, path, `${describeValue(value)} is not a whole number of at least 1`);
  }
  return value;
}

export function readWholeNumber(checker: Checker, value: unknown, path: string): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    return report(checker, path, `${describeValue(value)} is not a whole number of at least 0`);
  }
  return value;
}

export function readBoolean(checker: Checker, value: unknown, path: string): boolean | undefined {
  if (typeof value !== 'boolean') return report(checker, path, `expected true or false, got ${describeValue(value)}`);
  return value;
}

/** `null` clears a pattern inherited from the resource or defaults. */
export function readTicketPattern(checker: Checker, value: unknown, path: string): RegExp | null | undefined {
  if (value === null) return null;
  const source = readText(checker, value, path);
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (error) {
    return report(checker, path, `${describeValue(source)} is not a valid regular expression (${(error as Error).message})`);
  }
}

export function readPrincipals(
  checker: Checker,
  value: unknown,
  path: string,
  options: { allowEveryone: boolean; allowGroups: boolean; allowEmpty?: boolean; allowOnCall?: boolean },
): string[] | undefined {
  const entries = readList(checker, value, path);
  if (entries === undefined) return undefined;
  const principals: string[] = [];
  entries.forEach((entry, index) => {
    const principal = readPrincipal(checker, entry, childPath(path, index), options);
    if (principal === undefined) return;
    if (principals.includes(principal)) report(checker, childPath(path, index), `${principal} is listed twice`);
    else principals.push(principal);
  });
  if (entries.length === 0 && !options.allowEmpty) return report(checker, path, 'must not be empty');
  return principals;
}

function readPrincipal(checker: Checker, value: unknown, path: string, options: { allowEveryone: boolean; allowGroups: boolean; allowOnCall?: boolean }): string | undefined {
  if (options.allowOnCall && checker.onCallProblem && typeof value === 'string' && isOnCallPrincipal(value)) {
    const problem = checker.onCallProblem(value);
    return problem === null ? value : report(checker, path, problem);
  }
  if (value === '*') {
    if (options.allowEveryone) return value;
    return report(checker, path, '"*" is not allowed here; name the people (U…) or user groups (S…)');
  }
  const pattern = options.allowGroups ? SLACK_PRINCIPAL_PATTERN : SLACK_USER_PATTERN;
  if (typeof value !== 'string' || !pattern.test(value)) {
    const onCall = options.allowOnCall ? ', an on-call schedule (schedule:<name> or pagerduty:<SCHEDULE_ID>)' : '';
    const expected = options.allowGroups ? `a Slack user id (U…/W…) or user-group id (S…)${onCall}` : 'a Slack user id (U…/W…)';
    const everyone = options.allowEveryone ? ', or "*" for everyone' : '';
    return report(checker, path, `${describeValue(value)} is not ${expected}${everyone}`);
  }
  return value;
}
