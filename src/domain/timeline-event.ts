/** One AuditEvent row, as the timeline shows it. */
export interface TimelineEvent {
  at: Date;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

/** The actor of audit events that no person caused (grants, expiries, reminders). */
export const SYSTEM_ACTOR = 'system';
