import type { AccessRequest, Approval, Db, EmergencyReview, Extension, ExtensionApproval } from '../db/prisma';
import { breakGlassAvailableAt, type EmergencyVia, type ReviewVerdict, type ReviewView } from '../domain/emergency-rules';
import type { ExtensionView } from '../domain/extension-view';
import type { EndReason } from '../domain/request-state';
import { humanRequestId, type RequestView } from '../domain/request-view';
import { findRole } from '../policy/policy-queries';
import type { Policy } from '../policy/types';
import type { GrantTarget } from '../providers/types';

export type RequestWithApprovals = AccessRequest & { approvals: Approval[]; emergencyReview?: EmergencyReview | null };
export type ExtensionWithApprovals = Extension & { approvals: ExtensionApproval[] };
export type ExtensionWithRequest = ExtensionWithApprovals & { request: RequestWithApprovals };

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const approvalsInOrder = { approvals: { orderBy: { createdAt: 'asc' } }, emergencyReview: true } as const;

/** Reads of single requests and extensions for the use cases and the effect runners, and how they are shown. */
export class RequestReads {
  constructor(private readonly deps: { db: Db; policy: Policy }) {}

  findRequest(requestId: string): Promise<RequestWithApprovals | null> {
    // Button values come from Slack: anything that is not a UUID cannot be ours.
    if (!UUID_PATTERN.test(requestId)) return Promise.resolve(null);
    return this.deps.db.accessRequest.findUnique({ where: { id: requestId }, include: approvalsInOrder });
  }

  /** Several requests at once (effects handed over in a batch); missing ones are left out. */
  findRequests(requestIds: readonly string[]): Promise<RequestWithApprovals[]> {
    return this.deps.db.accessRequest.findMany({ where: { id: { in: requestIds.filter((id) => UUID_PATTERN.test(id)) } }, include: approvalsInOrder });
  }

  async loadView(requestId: string): Promise<RequestView> {
    const request = await this.findRequest(requestId);
    if (!request) throw new Error(`request ${requestId} not found`);
    return this.toView(request);
  }

  findExtension(extensionId: string): Promise<ExtensionWithRequest | null> {
    if (!UUID_PATTERN.test(extensionId)) return Promise.resolve(null);
    return this.deps.db.extension.findUnique({ where: { id: extensionId }, include: { approvals: approvalsInOrder.approvals, request: { include: approvalsInOrder } } });
  }

  toView(request: RequestWithApprovals): RequestView {
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    return {
      id: request.id,
      humanId: humanRequestId(request.number),
      status: request.status,
      requesterId: request.requesterId,
      requesterLogin: request.requesterLogin,
      resourceId: request.resourceId,
      resourceDescription: rule?.resource.description ?? null,
      roleId: request.roleId,
      durationSeconds: request.durationSeconds,
      reason: request.reason,
      ticket: request.ticket,
      channelId: request.channelId,
      messageTs: request.messageTs,
      requiredApprovals: request.requiredApprovals,
      approverPrincipals: rule?.role.approvers ?? [],
      approvals: request.approvals.map((a) => ({ approverId: a.approverId, at: a.createdAt })),
      createdAt: request.createdAt,
      decidedAt: request.decidedAt,
      decidedBy: request.decidedBy,
      grantedAt: request.grantedAt,
      expiresAt: request.expiresAt,
      endedAt: request.endedAt,
      endedBy: request.endedBy,
      endReason: (request.endReason as EndReason | null) ?? null,
      failureReason: request.failureReason,
      revokeAttempts: request.revokeAttempts,
      lastRevokeError: request.lastRevokeError,
      revokeFailingSince: request.revokeFailingSince,
      emergency: request.emergency,
      review: request.emergencyReview ? toReviewView(request.emergencyReview) : null,
      breakGlassAt: request.status === 'PENDING' ? breakGlassAvailableAt(request.createdAt, rule?.role) : null,
    };
  }
}

export function toReviewView(review: EmergencyReview): ReviewView {
  return {
    via: review.via as EmergencyVia,
    reviewers: review.reviewers,
    dueAt: review.dueAt,
    verdict: review.verdict as ReviewVerdict | null,
    reviewedBy: review.reviewedBy,
    reviewedAt: review.reviewedAt,
    flagReason: review.flagReason,
    overdueNotices: review.overdueNotices,
  };
}

export function toExtensionView(extension: ExtensionWithApprovals): ExtensionView {
  return {
    id: extension.id,
    requestId: extension.requestId,
    requestedBy: extension.requestedBy,
    extendBySeconds: extension.extendBySeconds,
    status: extension.status,
    requiredApprovals: extension.requiredApprovals,
    approvals: extension.approvals.map((approval) => ({ approverId: approval.approverId, at: approval.createdAt })),
    messageTs: extension.messageTs,
    createdAt: extension.createdAt,
    decidedAt: extension.decidedAt,
    decidedBy: extension.decidedBy,
    fromExpiresAt: extension.fromExpiresAt,
    toExpiresAt: extension.toExpiresAt,
    refusalReason: extension.refusalReason,
  };
}

/** What a provider needs to know about a request's access. */
export function grantTarget(request: AccessRequest): GrantTarget {
  return {
    requestId: request.id,
    requestNumber: request.number,
    slackId: request.requesterId,
    login: request.requesterLogin,
    resourceId: request.resourceId,
    roleId: request.roleId,
    grant: request.grantName,
    expiresAt: request.expiresAt ?? new Date(),
    reason: request.reason,
    ticket: request.ticket,
  };
}
