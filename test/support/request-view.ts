import type { RequestView } from '../../src/domain/request-view';

/** A pending request as the Block Kit builders see it (BG-1: alice asks for payments-db write for 30 minutes, two
 * approvals needed). Tests give what matters to them as overrides; the rest stays this one plausible request. */
export function requestView(overrides: Partial<RequestView> = {}): RequestView {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    humanId: 'BG-1',
    status: 'PENDING',
    requesterId: 'U0REQUESTER',
    requesterLogin: 'alice',
    resourceId: 'payments-db',
    resourceDescription: null,
    roleId: 'write',
    durationSeconds: 1800,
    reason: 'payout worker stuck',
    ticket: 'INC-4211',
    channelId: 'C0INCIDENT',
    messageTs: '1772359000.000100',
    requiredApprovals: 2,
    approverPrincipals: ['U0APPROVER1'],
    approvals: [],
    createdAt: new Date('2026-03-01T09:55:00Z'),
    decidedAt: null,
    decidedBy: null,
    grantedAt: null,
    expiresAt: null,
    endedAt: null,
    endedBy: null,
    endReason: null,
    failureReason: null,
    revokeAttempts: 0,
    lastRevokeError: null,
    revokeFailingSince: null,
    emergency: false,
    review: null,
    breakGlassAt: null,
    ...overrides,
  };
}
