/** On-call principals (`schedule:<name>`, `pagerduty:<SCHEDULE_ID>`) and rotation arithmetic. Pure: the caller
 * resolves who is on call (src/services/on-call.ts) and passes plain values in. */

export const SCHEDULE_PREFIX = 'schedule:';
export const PAGERDUTY_PREFIX = 'pagerduty:';

/** A rotation from the policy's `schedules`: `rotation[0]` is on call from `start` for `everySeconds`, then the next,
 * round and round. */
export interface Rotation {
  rotation: readonly string[];
  everySeconds: number;
  /** A fixed instant (the policy's ISO time carries its offset). */
  start: Date;
}

/** Who is on call for one principal now: their Slack ids, or `unreachable` when PagerDuty did not answer. */
export type OnCallNow = { principal: string; userIds: readonly string[] } | { principal: string; unreachable: true };

/** Whether the principal names an on-call schedule rather than people or a user group. */
export function isOnCallPrincipal(principal: string): boolean {
  return principal.startsWith(SCHEDULE_PREFIX) || principal.startsWith(PAGERDUTY_PREFIX);
}

/** The schedule name of `schedule:<name>`, or null. */
export function rotationName(principal: string): string | null {
  return principal.startsWith(SCHEDULE_PREFIX) ? principal.slice(SCHEDULE_PREFIX.length) : null;
}

/** The PagerDuty schedule id of `pagerduty:<ID>`, or null. */
export function pagerDutyScheduleId(principal: string): string | null {
  return principal.startsWith(PAGERDUTY_PREFIX) ? principal.slice(PAGERDUTY_PREFIX.length) : null;
}

/** The principal as people read it, for messages ("PagerDuty schedule PABC123", "rotation primary"); plain text. */
export function onCallLabel(principal: string): string {
  const scheduleId = pagerDutyScheduleId(principal);
  if (scheduleId !== null) return `PagerDuty schedule ${scheduleId}`;
  return `rotation ${rotationName(principal) ?? principal}`;
}

/** Who is on call at `at`: handovers happen every `everySeconds` of elapsed time counted from `start`, a fixed
 * instant, so a handover written as 09:00 local time moves to 10:00 (or 08:00) local time across a daylight-saving
 * change. Nobody before `start`. */
export function onCallAt(rotation: Rotation, at: Date): string | null {
  const elapsedMs = at.getTime() - rotation.start.getTime();
  if (elapsedMs < 0 || rotation.rotation.length === 0) return null;
  const slot = Math.floor(elapsedMs / (rotation.everySeconds * 1000));
  return rotation.rotation[slot % rotation.rotation.length];
}
