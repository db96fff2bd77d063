import type { RequestState } from '../domain/request-state';
import type { AuditAction } from '../services/audit-log';

/** A request that just changed status, with the times the metrics derive durations from. */
export interface RequestMove {
  to: RequestState;
  action: AuditAction;
  resourceId: string;
  roleId: string;
  createdAt: Date;
  decidedAt: Date | null;
  expiresAt: Date | null;
  endedAt: Date | null;
}

/** What AccessService reports to the metrics (an optional dependency: the service works the same without it). */
export interface AccessMetrics {
  requestMoved(move: RequestMove): void;
  revocationFailed(resourceId: string): void;
}
