/** One AuditEvent row, as the timeline shows it. */
export interface TimelineEvent {
  at: Date;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}
