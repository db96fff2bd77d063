import type { Prisma } from '../db/prisma';

export type AuditAction =
  | 'REQUESTED'
  | 'POST_FAILED'
  | 'APPROVAL_RECORDED'
  | 'QUORUM_REACHED'
  | 'DENIED'
  | 'WITHDRAWN'
  | 'GRANTED'
  | 'GRANT_FAILED'
  | 'REVOKE_REQUESTED'
  | 'EXPIRY_REACHED'
  | 'REVOKE_FAILED'
  | 'REVOKED'
  | 'EXPIRED'
  | 'ROLLED_BACK'
  | 'TIMED_OUT'
  | 'REVOKE_ALERTED'
  | 'RETRY_REQUESTED'
  | 'EXTENDED'
  | 'EXTEND_ON_TARGET_FAILED'
  | 'EXTENSION_REQUESTED'
  | 'EXTENSION_APPROVAL_RECORDED'
  | 'EXTENSION_DENIED'
  | 'EXTENSION_WITHDRAWN'
  | 'EXTENSION_REFUSED'
  | 'EXTENSION_CANCELLED'
  | 'REMINDER_SENT'
  // A grant that could not be recorded as ACTIVE (the request ended meanwhile), revoked on the spot.
  | 'LATE_GRANT_REVOKED'
  // The drift check (src/requests/drift-check.ts): access found on a target that the database says has ended, and
  // taken away again (or not); access missing from a target for an ACTIVE request. Never a status change.
  | 'DRIFT_REVOKED'
  | 'DRIFT_REVOKE_FAILED'
  | 'DRIFT_MISSING'
  // The start-up check of live grants' providers (src/requests/provider-changes.ts). Never a status change by
  // themselves (PROVIDER_CHANGE_REVOKED comes with the REVOKE_REQUESTED it causes).
  | 'PROVIDER_FINGERPRINT_RECORDED'
  | 'PROVIDER_CHANGE_ACCEPTED'
  | 'PROVIDER_CHANGE_REVOKED'
  | 'PROVIDER_CHANGE_NOT_FOUND'
  | 'PROVIDER_VANISHED'
  // The incident in the request's channel closed (src/requests/close-incident.ts): details { channelId, via:
  // 'archive'|'command', outcome: 'revoked'|'closed' }, actor = who archived the channel or ran the command. Comes
  // with the REVOKE_REQUESTED or TIMED_OUT it causes.
  | 'INCIDENT_CLOSED'
  // Emergency access (break glass), names fixed with the review reports: invoked (the PENDING → APPROVED change itself,
  // details { via, reviewers, reviewDueAt }), reviewed as justified ({ verdict }), flagged ({ reason }), and each
  // overdue notice ({ dueAt, notice }).
  | 'EMERGENCY_INVOKED'
  | 'EMERGENCY_REVIEWED'
  | 'EMERGENCY_FLAGGED'
  | 'EMERGENCY_REVIEW_OVERDUE';

export { SYSTEM_ACTOR } from '../domain/timeline-event';

/** Audit events are written inside the same transaction as the state change they describe. */
export async function recordAudit(
  tx: Prisma.TransactionClient,
  event: { requestId: string; actor: string; action: AuditAction; details?: Record<string, unknown> },
): Promise<void> {
  await tx.auditEvent.create({
    data: {
      requestId: event.requestId,
      actor: event.actor,
      action: event.action,
      details: (event.details ?? {}) as Prisma.InputJsonValue,
    },
  });
}
