import type { Logger } from 'pino';
import type { AccessRequest, Db } from '../db/prisma';
import type { Refusal } from '../domain/approval-rules';
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

/** Whether the actor is on the approver list of the request's role (directly or through a user group). */
export async function isApprover({ policy, directory }: Pick<RequestDeps, 'policy' | 'directory'>, request: AccessRequest, actorId: string): Promise<boolean> {
  const rule = findRole(policy, request.resourceId, request.roleId);
  if (!rule) return false;
  return principalMatches(rule.role.approvers, actorId, await directory.groupsOf(actorId));
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
  return principalMatches(reviewers, actorId, await directory.groupsOf(actorId));
}

/** A pending request older than the policy's requestTtl: as good as timed out. */
export function isStale(policy: Policy, request: Pick<AccessRequest, 'createdAt'>, now = new Date()): boolean {
  return now.getTime() - request.createdAt.getTime() > policy.requestTtlSeconds * 1000;
}
