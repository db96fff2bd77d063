import type { z } from 'zod';
import { UNKNOWN_KEYS_MARK } from './schema-primitives';

// ---------------------------------------------------------------------------------------------------------------
// zod's issues → "path: message" lines, in the order a person reads the file: a mapping's unknown keys first (a
// misspelt key explains the "missing" that follows), then its keys in checking order, a list's entries by index.
// zod reports unknown keys and whole-list checks (repeats) after the entries, so those are moved into place.

type Segment = PropertyKey;

interface Line {
  path: readonly Segment[];
  message: string;
}

export function formatPath(path: readonly Segment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

export function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: Line[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      // From mapping() (schema-primitives.ts), which knows the allowed keys; a plain z.strictObject does not.
      const marked = issue.message.startsWith(UNKNOWN_KEYS_MARK);
      const allowed = marked ? (JSON.parse(issue.message.slice(UNKNOWN_KEYS_MARK.length)) as string[]) : null;
      const unknown = issue.keys.map((key) => ({ path: [...issue.path, key], message: allowed ? unknownKeyMessage(key, allowed) : 'unknown key' }));
      lines.splice(firstInside(lines, issue.path), 0, ...unknown);
    } else if (issue.code === 'custom' && issue.params?.listCheck) {
      const index = issue.path[issue.path.length - 1] as number;
      lines.splice(afterEntry(lines, issue.path.slice(0, -1), index), 0, { path: issue.path, message: issue.message });
    } else if (issue.code === 'invalid_key') {
      // A record's key: its own check says what is wrong with it.
      lines.push({ path: issue.path, message: issue.issues[0]?.message ?? issue.message });
    } else {
      lines.push({ path: issue.path, message: issue.message });
    }
  }
  return lines.map(({ path, message }) => (path.length === 0 ? message : `${formatPath(path)}: ${message}`));
}

function isInside(path: readonly Segment[], container: readonly Segment[]): boolean {
  return container.every((segment, index) => path[index] === segment) && path.length >= container.length;
}

/** Where the lines about `container` begin (they are the last ones so far: zod checks depth first). */
function firstInside(lines: readonly Line[], container: readonly Segment[]): number {
  let index = lines.length;
  while (index > 0 && isInside(lines[index - 1].path, container)) index--;
  return index;
}

/** Just before the first line about a later entry of the list at `listPath`. */
function afterEntry(lines: readonly Line[], listPath: readonly Segment[], entry: number): number {
  for (let index = firstInside(lines, listPath); index < lines.length; index++) {
    const segment = lines[index].path[listPath.length];
    if (typeof segment === 'number' && segment > entry) return index;
  }
  return lines.length;
}

function unknownKeyMessage(key: string, allowedKeys: readonly string[]): string {
  const suggestion = likelyMeant(key, allowedKeys);
  const hint = suggestion ? `did you mean "${suggestion}"?` : `allowed keys: ${allowedKeys.join(', ')}`;
  return `unknown key (${hint})`;
}

/** The candidate `typed` is most likely a typo of, if any (also for values that name something, like schedules). */
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
