import { findRole, isPersonPrincipal, principalMatches, requestableRoles } from '../policy/policy-queries';
import type { Policy, ResourceRule, RoleRule } from '../policy/types';
import { formatDuration, parseDuration } from './duration';
import { liveRequestStates, type RequestState } from './request-state';
import { humanRequestId } from './request-view';
import { inlineCode } from './user-text';
import { formatUtcTime } from './utc-time';

/** A request as someone typed it (command or form), before anything is checked. */
export interface TypedRequest {
  channelId: string;
  resourceId: string;
  roleId: string;
  durationText: string;
  ticket: string | null;
  reason: string;
}

export interface RequestInput {
  requesterId: string;
  requesterGroupIds: ReadonlySet<string>;
  resourceId: string;
  roleId: string;
  durationText: string;
  ticket: string | null;
  reason: string;
  /** Where the request would be posted; checked against the role's `requestChannels` when given. */
  channelId?: string;
}

export type RequestRejectionCode =
  | 'unknown_resource'
  | 'unknown_role'
  | 'not_requester'
  | 'no_possible_approvers'
  | 'bad_duration'
  | 'too_long'
  | 'ticket_required'
  | 'bad_ticket'
  | 'missing_reason'
  | 'already_active'
  | 'already_pending'
  | 'wrong_channel'
  | 'too_many_requests'
  | 'emergency_not_allowed';

export type RequestField = 'resource' | 'role' | 'duration' | 'ticket' | 'reason';

export interface ValidRequest {
  ok: true;
  resource: ResourceRule;
  role: RoleRule;
  durationSeconds: number;
  ticket: string | null;
  reason: string;
}

export interface RejectedRequest {
  ok: false;
  code: RequestRejectionCode;
  field: RequestField;
  /** For the requester: what is wrong and what would be right. */
  message: string;
}

export const MAX_REASON_LENGTH = 1000;
export const MAX_TICKET_LENGTH = 100;

/** Ticket ids tried, in order, as the example in a "bad ticket" message; only one the pattern accepts is shown. */
const TICKET_EXAMPLES = ['INC-4211', 'OPS-123', 'CHG0012345', '4211', '#4211'];

/** Checks a request against the policy. Approving one's own request is the approval flow's concern, so approvers
 * may request like anyone else. */
export function validateRequest(policy: Policy, input: RequestInput): ValidRequest | RejectedRequest {
  const resource = policy.resources.find((candidate) => candidate.id === input.resourceId);
  if (!resource) return reject('unknown_resource', 'resource', unknownResourceMessage(policy, input));
  const match = findRole(policy, resource.id, input.roleId);
  if (!match) return reject('unknown_role', 'role', unknownRoleMessage(resource, input.roleId));
  const { role } = match;
  if (!principalMatches(role.requesters, input.requesterId, input.requesterGroupIds)) {
    return reject('not_requester', 'role', notRequesterMessage(policy, resource, role, input));
  }
  if (input.channelId !== undefined && !requestAllowedIn(role, input.channelId)) {
    return reject('wrong_channel', 'role', wrongChannelMessage(input.channelId, [{ resource, role }]));
  }
  // With user groups or on-call schedules we cannot know who else is in them; with named users only, the
  // requester's own approval never counts, so make sure enough others remain.
  const onlyUsers = role.approvers.every(isPersonPrincipal);
  const otherApprovers = role.approvers.filter((principal) => principal !== input.requesterId);
  if (onlyUsers && otherApprovers.length < role.approvals) {
    return reject(
      'no_possible_approvers',
      'role',
      `Nobody could approve this: ${label(resource, role)} needs ${role.approvals} approval${role.approvals === 1 ? '' : 's'} from someone other than you, and the policy names only ${otherApprovers.length} other approver${otherApprovers.length === 1 ? '' : 's'}. Ask the Breakglass admins to add approvers.`,
    );
  }

  const durationSeconds = parseDuration(input.durationText);
  if (durationSeconds === null) {
    return reject(
      'bad_duration',
      'duration',
      `${inlineCode(input.durationText, 40)} is not a duration. Use e.g. 45s, 30m, 2h or 1d (up to ${formatDuration(role.maxDurationSeconds)} for ${label(resource, role)}).`,
    );
  }
  if (durationSeconds > role.maxDurationSeconds) {
    return reject(
      'too_long',
      'duration',
      `${formatDuration(durationSeconds)} is longer than the ${formatDuration(role.maxDurationSeconds)} allowed for ${label(resource, role)}. Ask for ${formatDuration(role.maxDurationSeconds)} or less.`,
    );
  }

  const ticket = input.ticket?.trim() || null;
  const ticketProblem = checkTicket(resource, role, ticket);
  if (ticketProblem) return ticketProblem;

  const reason = input.reason.trim();
  if (reason === '') {
    return reject('missing_reason', 'reason', 'Please give a reason: it goes to the approvers and the audit log.');
  }
  if (reason.length > MAX_REASON_LENGTH) {
    // No dedicated code in the contract: the reason is unusable as given, and the field points at it.
    return reject('missing_reason', 'reason', `The reason is ${reason.length} characters long; keep it to ${MAX_REASON_LENGTH}.`);
  }
  return { ok: true, resource, role, durationSeconds, ticket, reason };
}

/** The requester's earlier request for the same resource and role. */
export interface EarlierRequest {
  number: number;
  status: RequestState;
  expiresAt: Date | null;
}

const EXTEND_HINT_DURATION = '30m';

/** Refuses a second request for access the requester already holds or is waiting for: more time comes from extending
 * the grant there is, never from a second, stacked one. Null when the earlier request (if any) is no longer live. */
export function checkNotAlreadyRequested(resource: ResourceRule, role: RoleRule, earlier: EarlierRequest | null, now: Date = new Date()): RejectedRequest | null {
  if (!earlier || !liveRequestStates.includes(earlier.status)) return null;
  const id = humanRequestId(earlier.number);
  if (earlier.status === 'PENDING') {
    return reject(
      'already_pending',
      'role',
      `You already asked for ${label(resource, role)} in ${id}, and it is still waiting for approval. See where it stands with \`/breakglass status ${id}\`; to ask differently, withdraw it first (Deny on its message).`,
    );
  }
  const extend = `use Extend on its DM or \`/breakglass extend ${id} ${EXTEND_HINT_DURATION}\``;
  if (earlier.expiresAt && earlier.expiresAt.getTime() <= now.getTime()) {
    return reject('already_active', 'role', `Your ${label(resource, role)} access (${id}) has reached its end and is being taken away; ask again in a moment.`);
  }
  const until = earlier.expiresAt ? ` until ${formatUtcTime(earlier.expiresAt, now)}` : '';
  if (earlier.status === 'APPROVED') {
    return reject('already_active', 'role', `${label(resource, role)} is already being granted to you${until} (${id}). To keep it longer once it is active, ${extend}.`);
  }
  return reject('already_active', 'role', `You already hold ${label(resource, role)}${until} (${id}). To keep it longer, ${extend}.`);
}

/** Whether a request for this role may be posted in this channel (the policy's `requestChannels`; unset: anywhere). */
export function requestAllowedIn(role: Pick<RoleRule, 'requestChannels'>, channelId: string): boolean {
  return role.requestChannels === null || role.requestChannels.includes(channelId);
}

/** Where to ask instead, for roles that may not be requested in `channelId` (a DM with the bot, a side channel). */
export function wrongChannelMessage(channelId: string, roles: readonly { resource: ResourceRule; role: RoleRule }[]): string {
  const channels = [...new Set(roles.flatMap(({ role }) => role.requestChannels ?? []))];
  const where = channels.map((channel) => `<#${channel}>`).join(' or ');
  const here = channelId.startsWith('D') ? 'in a direct message' : 'in this channel';
  const what = roles.length === 1 ? `Requests for ${label(roles[0].resource, roles[0].role)} are` : 'Your requests are';
  return `${what} not taken ${here}: ask in ${where}, where the approvers and the incident can see them.`;
}

/** A requester's requests of the last hour (their creation times), against the policy's `requestsPerHour`. */
export function checkRequestRate(recent: readonly Date[], perHour: number, now: Date = new Date()): RejectedRequest | null {
  const hourAgo = now.getTime() - 3_600_000;
  const inLastHour = recent.filter((at) => at.getTime() > hourAgo).sort((a, b) => a.getTime() - b.getTime());
  if (inLastHour.length < perHour) return null;
  // A slot frees when the oldest request that still counts is an hour old.
  const freeAt = new Date(inLastHour[inLastHour.length - perHour].getTime() + 3_600_000);
  return reject(
    'too_many_requests',
    'role',
    `You have made ${inLastHour.length} requests in the last hour, and the policy allows one person ${perHour} (\`defaults.requestsPerHour\`). You can ask again at ${formatUtcTime(freeAt, now)}; nothing was requested.`,
  );
}

function reject(code: RequestRejectionCode, field: RequestField, message: string): RejectedRequest {
  return { ok: false, code, field, message };
}

function label(resource: ResourceRule, role: RoleRule): string {
  return `\`${resource.id}\` / \`${role.id}\``;
}

function listIds(ids: readonly string[]): string {
  return ids.map((id) => `\`${id}\``).join(', ');
}

function unknownResourceMessage(policy: Policy, input: RequestInput): string {
  const resourceIds = new Set(requestableRoles(policy, input.requesterId, input.requesterGroupIds).map(({ resource }) => resource.id));
  const unknown = `There is no resource ${inlineCode(input.resourceId, 60)}.`;
  if (resourceIds.size === 0) return `${unknown} You are not allowed to request any resource; ask a breakglass admin if you need access.`;
  return `${unknown} You can request: ${listIds([...resourceIds])}.`;
}

function unknownRoleMessage(resource: ResourceRule, roleId: string): string {
  return `\`${resource.id}\` has no role ${inlineCode(roleId, 60)}. Its roles are: ${listIds(resource.roles.map((role) => role.id))}.`;
}

function notRequesterMessage(policy: Policy, resource: ResourceRule, role: RoleRule, input: RequestInput): string {
  const allowedRoleIds = requestableRoles(policy, input.requesterId, input.requesterGroupIds)
    .filter((candidate) => candidate.resource.id === resource.id)
    .map((candidate) => candidate.role.id);
  const refusal = `You are not allowed to request ${label(resource, role)}.`;
  if (allowedRoleIds.length === 0) return `${refusal} Ask a breakglass admin if you need it.`;
  return `${refusal} On \`${resource.id}\` you can request: ${listIds(allowedRoleIds)}.`;
}

function checkTicket(resource: ResourceRule, role: RoleRule, ticket: string | null): RejectedRequest | null {
  if (ticket === null) {
    if (!role.requireTicket) return null;
    return reject('ticket_required', 'ticket', `${label(resource, role)} needs a ticket. ${ticketFormatHint(role.ticketPattern)}`);
  }
  if (ticket.length > MAX_TICKET_LENGTH) {
    return reject('bad_ticket', 'ticket', `The ticket is ${ticket.length} characters long; keep it to ${MAX_TICKET_LENGTH}.`);
  }
  if (role.ticketPattern && !role.ticketPattern.test(ticket)) {
    return reject('bad_ticket', 'ticket', `${inlineCode(ticket, 100)} is not a valid ticket for ${label(resource, role)}. ${ticketFormatHint(role.ticketPattern)}`);
  }
  return null;
}

function ticketFormatHint(pattern: RegExp | null): string {
  if (!pattern) return 'Give the incident or change ticket id.';
  const example = TICKET_EXAMPLES.find((candidate) => pattern.test(candidate));
  const exampleText = example ? `, e.g. \`${example}\`` : '';
  return `It must match \`${pattern.source}\`${exampleText}.`;
}
