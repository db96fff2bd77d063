import type { AccessRequest, Db, Prisma } from '../db/prisma';
import { incidentClosedFor } from '../domain/incident-close';
import { DEFAULT_END_WITH_INCIDENT } from '../policy/incident-schema';
import { findRole } from '../policy/policy-queries';
import type { Policy } from '../policy/types';

type Reader = Db | Prisma.TransactionClient;

/** Whether the request's grant belongs to the incident of its channel (policy `endWithIncident`; a role gone from
 * the policy keeps the built-in default). */
export function endsWithIncident(policy: Policy, request: Pick<AccessRequest, 'resourceId' | 'roleId'>): boolean {
  return findRole(policy, request.resourceId, request.roleId)?.role.endWithIncident ?? DEFAULT_END_WITH_INCIDENT;
}

/** The channel's latest row: an incident closed ('archive', 'command'), or the channel unarchived ('unarchive'). */
export function latestClosure(db: Reader, channelId: string, { incidentsOnly = false } = {}) {
  return db.incidentClosure.findFirst({
    where: { channelId, ...(incidentsOnly ? { via: { not: 'unarchive' } } : {}) },
    orderBy: [{ closedAt: 'desc' }, { id: 'desc' }],
  });
}

/** Whether the channel is archived, as far as Breakglass heard (its latest row is the archive). */
export async function isChannelArchived(db: Reader, channelId: string): Promise<boolean> {
  return (await latestClosure(db, channelId))?.via === 'archive';
}

/** Whether the incident the request belongs to has closed: its grant ended with it, and it can no longer be
 * extended. Requests of roles with `endWithIncident: false` belong to no incident. */
export async function incidentClosedForRequest(db: Reader, policy: Policy, request: Pick<AccessRequest, 'channelId' | 'createdAt' | 'resourceId' | 'roleId'>): Promise<boolean> {
  if (!endsWithIncident(policy, request)) return false;
  const closure = await latestClosure(db, request.channelId, { incidentsOnly: true });
  return incidentClosedFor(request.createdAt, closure?.closedAt ?? null);
}
