/** Closing an incident: what happens to each live request made in its channel before the close. Plain rules; the
 * use case (src/requests/close-incident.ts) reads the requests and carries the plan out. */
import type { RequestState } from './request-state';
import { humanRequestId } from './request-view';

/** How the incident closed: its channel was archived in Slack, or someone ran `/breakglass incident close` there. */
export type IncidentCloseVia = 'archive' | 'command';

/** One live request of the channel, as the close needs it. */
export interface IncidentRequest {
  id: string;
  number: number;
  status: RequestState;
  requesterId: string;
  resourceId: string;
  roleId: string;
  expiresAt: Date | null;
}

export interface IncidentItem extends IncidentRequest {
  humanId: string;
}

/** What a close does: grants (active, or being granted) revoked early, pending requests closed unapproved, and what
 * the person closing may not end (they stay, but can no longer be extended). */
export interface IncidentClosePlan {
  channelId: string;
  end: IncidentItem[];
  cancel: IncidentItem[];
  notAllowed: IncidentItem[];
}

/** The states a close acts on: waiting for approval, being granted, active. */
export const incidentLiveStates: readonly RequestState[] = ['PENDING', 'APPROVED', 'ACTIVE'];

/** Why a request ended when its incident closed (audit details, notices). */
export const INCIDENT_CLOSED_REASON = 'incident closed';

/** Splits the channel's live requests by what the close does with them; `mayEnd` says whom the person closing may
 * end (the archive of the channel may end all). */
export function planIncidentClose(channelId: string, requests: readonly IncidentRequest[], mayEnd: (request: IncidentRequest) => boolean): IncidentClosePlan {
  const plan: IncidentClosePlan = { channelId, end: [], cancel: [], notAllowed: [] };
  for (const request of [...requests].sort((a, b) => a.number - b.number)) {
    const item = { ...request, humanId: humanRequestId(request.number) };
    if (!mayEnd(request)) plan.notAllowed.push(item);
    else if (request.status === 'PENDING') plan.cancel.push(item);
    else plan.end.push(item);
  }
  return plan;
}

/** Whether the incident of a request made at `createdAt` closed, given when its channel's incidents closed. */
export function incidentClosedFor(createdAt: Date, closedAt: Date | null): boolean {
  return closedAt !== null && closedAt.getTime() >= createdAt.getTime();
}
