/** Parses the text after `/breakglass`. Knows nothing about the policy: checking ids and values is request-rules' job. */

export type Command =
  | { kind: 'help' }
  | { kind: 'open-modal' }
  | { kind: 'request'; resourceId: string; roleId: string; durationText: string; ticket: string | null; reason: string }
  | { kind: 'invalid'; message: string };

export const COMMAND_USAGE = '/breakglass <resource> <role> <duration> <ticket or -> <reason…>';
export const COMMAND_EXAMPLE = '/breakglass payments-db write 30m INC-4211 payout worker stuck, need to requeue';

/** Typed for "no ticket". */
const NO_TICKET = '-';

// Four single-word arguments, then the reason: everything else, internal spacing kept.
const REQUEST_PATTERN = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+([\s\S]*))?$/;

export function parseCommand(text: string): Command {
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'open-modal' };
  if (trimmed.toLowerCase() === 'help') return { kind: 'help' };
  const match = REQUEST_PATTERN.exec(trimmed);
  if (!match) return invalid('Not enough arguments.');
  const [, resourceId, roleId, durationText, ticket, rawReason = ''] = match;
  const reason = unescapeSlackText(rawReason).trim();
  if (reason === '') return invalid('Please add a reason after the ticket.');
  return {
    kind: 'request',
    // Policy ids are lowercase, so `Payments-DB` is forgiven.
    resourceId: resourceId.toLowerCase(),
    roleId: roleId.toLowerCase(),
    durationText,
    ticket: ticket === NO_TICKET ? null : ticket,
    reason,
  };
}

function invalid(problem: string): Command {
  return {
    kind: 'invalid',
    message: [
      problem,
      `Usage: \`${COMMAND_USAGE}\``,
      `Example: \`${COMMAND_EXAMPLE}\``,
      'Use `-` as the ticket when there is none, or run `/breakglass` alone to open the request form.',
    ].join('\n'),
  };
}

/** Slack escapes &, < and > in command text; `&amp;` last so `&amp;lt;` becomes `&lt;`, not `<`. */
function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
