import type { RequestableRole } from './request-modal';
import { formatDuration } from '../../domain/duration';

/** `/breakglass help`: both ways of asking, and what this user may ask for. */
export function buildHelpText(requestable: readonly RequestableRole[]): string {
  const roles = requestable.length
    ? requestable
        .map(({ resource, role }) => `• \`${resource.id} ${role.id}\` — up to ${formatDuration(role.maxDurationSeconds)}, ${role.approvals} approval${role.approvals === 1 ? '' : 's'}${role.requireTicket ? ', ticket required' : ''}`)
        .join('\n')
    : '_The policy lets you request nothing yet; ask the Breakglass admins._';
  return [
    '*Breakglass* gives you time-boxed, approved, audited access to production.',
    '',
    '*Ask inline:* `/breakglass <resource> <role> <duration> <ticket> <reason…>`',
    'e.g. `/breakglass payments-db write 30m INC-4211 payout worker stuck, need to requeue`',
    'Use `-` for the ticket where none is required. Durations: `45s`, `30m`, `2h`, `1d`.',
    '*Ask with a form:* `/breakglass` with no arguments.',
    '',
    'The request is posted here for approval; approvers click *Approve*, and access is granted once enough have. It is revoked automatically at expiry, or earlier with *Revoke now*.',
    '',
    '*You can request:*',
    roles,
  ].join('\n');
}
