/** Emergency access's shapes, with no dependencies (the policy types and the request view use them): a role's resolved
 * `emergency` block, and where an emergency grant's review stands. The rules are in emergency-rules.ts. */

/** How an emergency grant came about (audit `EMERGENCY_INVOKED.via`). */
export type EmergencyVia = 'command' | 'form' | 'escalation';

export type ReviewVerdict = 'justified' | 'flagged';

/** Where an emergency grant's review stands. */
export interface ReviewView {
  via: EmergencyVia;
  reviewers: readonly string[];
  dueAt: Date;
  verdict: ReviewVerdict | null;
  reviewedBy: string | null;
  reviewedAt: Date | null;
  flagReason: string | null;
  overdueNotices: number;
}

/** A role's resolved `emergency` block (policy key `emergency`, present only when `allowed: true`). */
export interface EmergencyRule {
  /** Longest emergency grant; defaults to the role's maxDuration, never longer. */
  maxDurationSeconds: number;
  /** Principals like approvers (user ids, user-group ids, and whatever else approvers accept); never empty. */
  reviewers: string[];
  /** How soon a reviewer must mark the grant justified or flag it (default 24h); then overdue notices, daily. */
  reviewWithinSeconds: number;
  /** Channel ids alerted besides alerts.securityChannel. */
  notify: string[];
  /** How long a pending request of the role waits before its requester may break the glass (default 10m; 0: at once). */
  afterSeconds: number;
}
