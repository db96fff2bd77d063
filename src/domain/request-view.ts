import type { ReviewView } from './emergency-types';
import type { RequestState, EndReason } from './request-state';

/** Everything people see about one request, assembled from the database and the policy. */
export interface RequestView {
  id: string;
  humanId: string;
  status: RequestState;
  requesterId: string;
  requesterLogin: string;
  resourceId: string;
  resourceDescription: string | null;
  roleId: string;
  durationSeconds: number;
  reason: string;
  ticket: string | null;
  channelId: string;
  messageTs: string | null;
  requiredApprovals: number;
  /** The approver list of the role as written in the policy (user and group ids, on-call schedules). */
  approverPrincipals: readonly string[];
  approvals: ReadonlyArray<{ approverId: string; at: Date }>;
  createdAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  grantedAt: Date | null;
  expiresAt: Date | null;
  endedAt: Date | null;
  endedBy: string | null;
  endReason: EndReason | null;
  failureReason: string | null;
  /** Failed revocation attempts so far, the last error, and since when people have been alerted. */
  revokeAttempts: number;
  lastRevokeError: string | null;
  revokeFailingSince: Date | null;
  /** Granted by emergency access, without approval; its review is `review`. */
  emergency: boolean;
  review: ReviewView | null;
  /** While PENDING, for a role that allows emergency access: from when its requester may break the glass. */
  breakGlassAt: Date | null;
}

export function humanRequestId(number: number): string {
  return `BG-${number}`;
}
