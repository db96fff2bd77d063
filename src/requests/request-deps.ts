import type { Logger } from 'pino';
import type { AccessRequest, Db } from '../db/prisma';
import type { Refusal } from '../domain/approval-rules';
import { isOnCallPrincipal } from '../domain/on-call';
import { findRole, principalMatches } from '../policy/policy-queries';
import type { Policy } from '../policy/types';
import type { ProviderRegistry } from '../providers/provider-registry';
import { ProviderError } from '../providers/types';
import { scrubSecrets } from '../logger';
import type { AccessMetrics } from '../metrics/access-metrics';
import type { UserDirectory } from '../services/user-directory';
import type { RequestReads } from './request-reads';
import type { RequestStore } from './request-store';

/** Where expiry jobs live (BullMQ). Jobs carry the request id only. */
export interface ExpiryScheduler {
  schedule(requestId: string, at: Date): Promise<void>;
  runNow(requestId: string): Promise<void>;
}

/** What the use cases share: the store (the only writer of request status), the reads, the policy, the targets. */
export interface RequestDeps {
  db: Db;
  policy: Policy;
  providers: ProviderRegistry;
  directory: UserDirectory;
  store: RequestStore;
  reads: RequestReads;
  expiry: ExpiryScheduler;
  logger: Logger;
  /** Told about every status change and failed revocation (Prometheus); optional. */
  metrics?: AccessMetrics;
}

export const notFound: Refusal<'not_found'> = { ok: false, code: 'not_found', message: 'I cannot find that request any more.' };

export const changedMeanwhile: Refusal<'changed'> = { ok: false, code: 'changed', message: 'The request changed meanwhile; look at it again and retry.' };

/** A failure as text. Provider errors are written for people; anything else is a bug whose details stay in the
 * logs, unless the text is only for the audit trail (`forAudit`), where the scrubbed message helps operators. */
export function failureText(err: unknown, { forAudit = false } = {}): string {
  if (err instanceof ProviderError) return scrubSecrets(err.message);
  if (forAudit && err instanceof Error) return scrubSecrets(err.message);
  return 'unexpected error on the target (see the bot logs)';
}

/** Whether the actor is on the approver list of the request's role (directly, through a user group, or on call now
 * for an on-call schedule on it). */
export async function isApprover(deps: Pick<RequestDeps, 'policy' | 'directory'>, request: AccessRequest, actorId: string): Promise<boolean> {
  return (await approverStanding(deps, request, actorId)).approver;
}

/** isApprover, the role's on-call schedules the actor is on call for now (`onCall`, for the audit trail), and when
 * the actor is not an approver, the role's on-call schedules that could not be checked (PagerDuty unreachable): the
 * actor may be on call there, so the refusal must say so. Looked up before any transaction. */
export async function approverStanding(
  { policy, directory }: Pick<RequestDeps, 'policy' | 'directory'>,
  request: Pick<AccessRequest, 'resourceId' | 'roleId'>,
  actorId: string,
): Promise<{ approver: boolean; unchecked: string[]; onCall: string[] }> {
  const rule = findRole(policy, request.resourceId, request.roleId);
  if (!rule) return { approver: false, unchecked: [], onCall: [] };
  const { approvers } = rule.role;
  const memberships = await directory.membershipsOf(actorId, approvers);
  const approver = principalMatches(approvers, actorId, memberships.ids);
  const onCall = approvers.filter((principal) => isOnCallPrincipal(principal) && memberships.ids.has(principal));
  return { approver, unchecked: approver ? [] : memberships.unreachable.filter((principal) => approvers.includes(principal)), onCall };
}

/** Who may end a request's access early (Revoke now, /breakglass revoke, an incident close): its requester, an
 * approver of its role, or a Breakglass admin. */
export async function mayRevoke(deps: Pick<RequestDeps, 'policy' | 'directory'>, request: AccessRequest, actorId: string): Promise<boolean> {
  return actorId === request.requesterId || deps.policy.admins.includes(actorId) || (await isApprover(deps, request, actorId));
}

/** Whether the actor is one of the role's emergency reviewers (as the policy names them now; when the role no longer
 * allows emergency access, those named when it was invoked): the same principal matching as approvers. */
export async function isReviewer(
  { policy, directory }: Pick<RequestDeps, 'policy' | 'directory'>,
  request: AccessRequest,
  actorId: string,
  namedAtInvocation: readonly string[],
): Promise<boolean> {
  const reviewers = findRole(policy, request.resourceId, request.roleId)?.role.emergency?.reviewers ?? namedAtInvocation;
  return principalMatches(reviewers, actorId, (await directory.membershipsOf(actorId, reviewers)).ids);
}

/** A pending request older than the policy's requestTtl: as good as timed out. */
export function isStale(policy: Policy, request: Pick<AccessRequest, 'createdAt'>, now = new Date()): boolean {
  return now.getTime() - request.createdAt.getTime() > policy.requestTtlSeconds * 1000;
}
