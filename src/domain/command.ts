/** Parses the text after `/breakglass`. Knows nothing about the policy: checking ids and values is request-rules' job. */
import { parseDuration } from './duration';
import { inlineCode } from './user-text';

export type Command =
  | { kind: 'help' }
  | { kind: 'open-modal' }
  | { kind: 'request'; resourceId: string; roleId: string; durationText: string; ticket: string | null; reason: string }
  | { kind: 'emergency'; resourceId: string; roleId: string; durationText: string; ticket: string | null; reason: string }
  | { kind: 'list' }
  | { kind: 'status'; requestNumber: number }
  | { kind: 'revoke'; requestNumber: number }
  | { kind: 'extend'; requestNumber: number; durationText: string }
  | { kind: 'audit'; requestNumber: number }
  | { kind: 'report'; days: number }
  | { kind: 'incident-close' }
  | { kind: 'invalid'; message: string };

export const COMMAND_USAGE = '/breakglass <resource> <role> <duration> <ticket or -> <reason…>';
export const COMMAND_EXAMPLE = '/breakglass payments-db write 30m INC-4211 payout worker stuck, need to requeue';

/** The subcommands, as help and error messages show them. A known first word wins over an inline request. */
export const SUBCOMMANDS = {
  list: { usage: '/breakglass list', example: '/breakglass list', does: 'active and pending requests you can see' },
  status: { usage: '/breakglass status <id>', example: '/breakglass status BG-1042', does: 'one request in detail' },
  revoke: { usage: '/breakglass revoke <id>', example: '/breakglass revoke BG-1042', does: 'end active access now' },
  extend: { usage: '/breakglass extend <id> <duration>', example: '/breakglass extend BG-1042 30m', does: 'ask for more time on active access' },
  audit: { usage: '/breakglass audit <id>', example: '/breakglass audit BG-1042', does: "the request's timeline, from its audit events" },
  report: { usage: '/breakglass report [7d|30d]', example: '/breakglass report 30d', does: 'the access review report (admins and emergency reviewers)' },
  incident: {
    usage: '/breakglass incident close',
    example: '/breakglass incident close',
    does: 'in the incident channel: end the access requested there (lists it and asks to confirm)',
  },
  emergency: {
    usage: '/breakglass emergency <resource> <role> <duration> <ticket or -> <reason…>',
    example: '/breakglass emergency payments-db write 30m INC-4211 payouts down, no approver answers',
    does: 'access at once without approval, for roles that allow it; loud, and reviewed afterwards',
  },
  help: { usage: '/breakglass help', example: '/breakglass help', does: 'how to ask, and what you may request' },
} as const;

type Subcommand = Exclude<keyof typeof SUBCOMMANDS, 'emergency'>;

/** The periods `/breakglass report` covers, in days. */
const REPORT_PERIODS: Record<string, number> = { '7d': 7, '30d': 30 };

/** Typed for "no ticket". */
const NO_TICKET = '-';

// Four single-word arguments, then the reason: everything else, internal spacing kept.
const REQUEST_PATTERN = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+([\s\S]*))?$/;

/** `BG-1042`, `bg-1042` or `1042`. */
const REQUEST_ID_PATTERN = /^(?:bg-)?(\d{1,9})$/i;

export function parseCommand(text: string): Command {
  // Slack sends &, < and > escaped; from here on every word is the text as typed, and is escaped again wherever it is
  // shown (user-text.ts).
  const trimmed = unescapeSlackText(text).trim();
  if (trimmed === '') return { kind: 'open-modal' };
  const words = trimmed.split(/\s+/);
  const first = words[0].toLowerCase();
  if (first === 'emergency') return parseRequest(trimmed.slice(words[0].length).trim(), 'emergency');
  if (isSubcommand(first)) return parseSubcommand(first, words.slice(1));
  // One word that is no subcommand is far more likely a mistyped subcommand than a request.
  if (words.length === 1) return unknownSubcommand(words[0]);
  return parseRequest(trimmed, 'request');
}

/** `<resource> <role> <duration> <ticket or -> <reason…>`, for a request or (after `emergency`) emergency access. */
function parseRequest(text: string, kind: 'request' | 'emergency'): Command {
  const match = REQUEST_PATTERN.exec(text);
  if (!match) {
    if (kind === 'emergency') return subcommandProblem('emergency', 'Not enough arguments: `emergency` needs the resource, role, duration, ticket (or `-`) and a reason.');
    return invalid('Not enough arguments.');
  }
  const [, resourceId, roleId, durationText, ticket, rawReason = ''] = match;
  const reason = rawReason.trim();
  if (reason === '') {
    if (kind === 'emergency') return subcommandProblem('emergency', 'Emergency access always needs a reason, after the ticket: it goes to the reviewers and the audit log.');
    return invalid('Please add a reason after the ticket.');
  }
  return {
    kind,
    // Policy ids are lowercase, so `Payments-DB` is forgiven.
    resourceId: resourceId.toLowerCase(),
    roleId: roleId.toLowerCase(),
    durationText,
    ticket: ticket === NO_TICKET ? null : ticket,
    reason,
  };
}

/** The number of a request from its human id (`BG-1042`, `bg-1042`, `1042`), or null when it is not one. */
export function parseRequestNumber(text: string): number | null {
  const match = REQUEST_ID_PATTERN.exec(text.trim());
  if (!match) return null;
  const number = Number(match[1]);
  return number > 0 ? number : null;
}

function isSubcommand(word: string): word is Subcommand {
  return word !== 'emergency' && Object.hasOwn(SUBCOMMANDS, word);
}

function parseSubcommand(name: Subcommand, args: string[]): Command {
  switch (name) {
    case 'help':
      return { kind: 'help' };
    case 'list':
      return args.length === 0 ? { kind: 'list' } : subcommandProblem(name, '`list` takes no arguments.');
    case 'status':
    case 'revoke':
    case 'audit': {
      if (args.length === 0) return subcommandProblem(name, `\`${name}\` needs the id of a request.`);
      if (args.length > 1) return subcommandProblem(name, `\`${name}\` takes one request id, nothing more.`);
      const requestNumber = parseRequestNumber(args[0]);
      if (requestNumber === null) return subcommandProblem(name, badIdProblem(args[0]));
      return { kind: name, requestNumber };
    }
    case 'report': {
      if (args.length === 0) return { kind: 'report', days: 7 };
      const days = REPORT_PERIODS[args[0].toLowerCase()];
      if (args.length > 1 || days === undefined) return subcommandProblem(name, '`report` takes the period to cover: `7d` (the default) or `30d`.');
      return { kind: 'report', days };
    }
    case 'incident': {
      if (args.length === 1 && args[0].toLowerCase() === 'close') return { kind: 'incident-close' };
      const got = args.length === 0 ? '' : ` (not ${inlineCode(args.join(' '), 40)})`;
      return subcommandProblem(name, `\`incident\` takes one word: \`close\`${got}.`);
    }
    case 'extend': {
      if (args.length === 0) return subcommandProblem(name, '`extend` needs the id of a request and how much longer you need it.');
      const requestNumber = parseRequestNumber(args[0]);
      if (requestNumber === null) return subcommandProblem(name, badIdProblem(args[0]));
      if (args.length === 1) return subcommandProblem(name, '`extend` needs how much longer you need the access, after the id.');
      if (args.length > 2) return subcommandProblem(name, '`extend` takes a request id and one duration, nothing more.');
      if (parseDuration(args[1]) === null) {
        return subcommandProblem(name, `${inlineCode(args[1], 40)} is not a duration: use a number with a unit, largest first, e.g. \`45s\`, \`30m\`, \`2h\`, \`1h30m\`.`);
      }
      return { kind: 'extend', requestNumber, durationText: args[1] };
    }
  }
}

function badIdProblem(text: string): string {
  return `${inlineCode(text, 40)} is not a request id: use the id shown on the request, e.g. \`BG-1042\` (or just \`1042\`).`;
}

function subcommandProblem(name: keyof typeof SUBCOMMANDS, problem: string): Command {
  const { usage, example } = SUBCOMMANDS[name];
  return { kind: 'invalid', message: [problem, `Usage: \`${usage}\``, `Example: \`${example}\``].join('\n') };
}

function unknownSubcommand(word: string): Command {
  const requestNumber = parseRequestNumber(word);
  return {
    kind: 'invalid',
    message: [
      requestNumber !== null
        ? `To look at a request, name what to do with it, e.g. \`/breakglass status BG-${requestNumber}\` or \`/breakglass audit BG-${requestNumber}\`.`
        : `${inlineCode(word, 40)} is not a command, and a request needs more than one word.`,
      `Usage: \`${COMMAND_USAGE}\``,
      `Example: \`${COMMAND_EXAMPLE}\``,
      'Commands:',
      subcommandList(),
    ].join('\n'),
  };
}

/** One line per subcommand, for help and for "I do not know that". */
export function subcommandList(): string {
  return Object.values(SUBCOMMANDS)
    .map(({ usage, does }) => `• \`${usage}\` — ${does}`)
    .join('\n');
}

function invalid(problem: string): Command {
  return {
    kind: 'invalid',
    message: [
      problem,
      `Usage: \`${COMMAND_USAGE}\``,
      `Example: \`${COMMAND_EXAMPLE}\``,
      'Use `-` as the ticket when there is none, or run `/breakglass` alone to open the request form. `/breakglass help` lists the other commands.',
    ].join('\n'),
  };
}

/** Slack escapes &, < and > in command text; `&amp;` last so `&amp;lt;` becomes `&lt;`, not `<`. */
function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
