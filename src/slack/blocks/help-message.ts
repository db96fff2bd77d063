import type { RequestableRole } from '../../domain/requestable-role';
import { COMMAND_EXAMPLE, subcommandList } from '../../domain/command';
import { formatDuration } from '../../domain/duration';

/** An example this user could actually send: their first requestable role, within its limits. */
function exampleCommand(requestable: readonly RequestableRole[]): string {
  const first = requestable[0];
  if (!first) return COMMAND_EXAMPLE;
  const duration = formatDuration(Math.min(first.role.maxDurationSeconds, 30 * 60)).replace(' ', '');
  const ticket = !first.role.requireTicket ? '-' : !first.role.ticketPattern || first.role.ticketPattern.test('INC-4211') ? 'INC-4211' : '<ticket>';
  return `/breakglass ${first.resource.id} ${first.role.id} ${duration} ${ticket} what you need to do and why`;
}

/** `/breakglass help`: both ways of asking, and what this user may ask for. */
export function buildHelpText(requestable: readonly RequestableRole[]): string {
  const roles = requestable.length
    ? requestable
        .map(
          ({ resource, role }) =>
            `• \`${resource.id} ${role.id}\` — up to ${formatDuration(role.maxDurationSeconds)}, ${role.approvals} approval${role.approvals === 1 ? '' : 's'}${role.requireTicket ? ', ticket required' : ''}${role.emergency ? `; emergency access up to ${formatDuration(role.emergency.maxDurationSeconds)}` : ''}`,
        )
        .join('\n')
    : '_The policy lets you request nothing yet; ask the Breakglass admins._';
  return [
    '*Breakglass* gives you time-boxed, approved, audited access to production.',
    '',
    '*Ask inline:* `/breakglass <resource> <role> <duration> <ticket> <reason…>`',
    `e.g. \`${exampleCommand(requestable)}\``,
    'Use `-` for the ticket where none is required. Durations: `45s`, `30m`, `2h`, `1d`.',
    '*Ask with a form:* `/breakglass` with no arguments.',
    '',
    'The request is posted here for approval; approvers click *Approve*, and access is granted once enough have. It is revoked automatically at expiry, or earlier with *Revoke now*.',
    '',
    '*Commands* (ids as shown on the request, e.g. `BG-1042` or `1042`):',
    subcommandList(),
    "The bot's *Home* tab shows your active access, what waits for your approval and your recent requests.",
    '',
    '*You can request:*',
    roles,
  ].join('\n');
}
