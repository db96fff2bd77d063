import type { AccessRequest } from '../db/prisma';
import type { Refusal } from '../domain/approval-rules';
import {
  INCIDENT_CLOSED_REASON,
  incidentLiveStates,
  planIncidentClose,
  type IncidentCloseVia,
  type IncidentClosePlan,
  type IncidentItem,
  type IncidentRequest,
} from '../domain/incident-close';
import type { Outcome } from '../domain/outcome';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import { lockAccessKeys } from './access-locks';
import type { EndAccess } from './end-access';
import { shown } from './effect-plans';
import { endsWithIncident, latestClosure } from './incident-closures';
import { mayRevoke, type RequestDeps } from './request-deps';
import type { StoreTransaction } from './request-store';

/** Channels an incident can live in: public (C…) and private (G…) channels, not a DM with the bot. */
const INCIDENT_CHANNEL_PATTERN = /^[CG][A-Z0-9]+$/;

/** What a close did: the plan as carried out, and the requests that had ended or moved on before it could. */
export interface IncidentCloseResult {
  plan: IncidentClosePlan;
  movedOn: IncidentItem[];
}

interface CloseOptions {
  via: IncidentCloseVia;
  /** Who closed it (audit actor): the archiver or the person who ran the command; SYSTEM_ACTOR when unknown. */
  actor: string;
  /** Requests made up to this time belong to the incident that closes. */
  at: Date;
  mayEnd: (request: AccessRequest) => Promise<boolean>;
}

/**
 * Grants that end with their incident (policy `endWithIncident`). When the channel a request was made in is archived,
 * or someone runs `/breakglass incident close` there, every live grant made there before ends at once as revoked
 * early (the same early-revoke path as Revoke now: one transaction with its effects, revocation from the outbox,
 * retries and alerts), pending requests close unapproved, and the close is recorded so extensions are refused.
 */
export class CloseIncident {
  constructor(private readonly deps: RequestDeps & { ending: EndAccess }) {}

  /** What `/breakglass incident close` would do in the channel for this person; nothing changes. */
  async preview(channelId: string, actorId: string): Promise<Outcome<{ plan: IncidentClosePlan; at: Date }, string>> {
    const problem = channelProblem(channelId);
    if (problem) return problem;
    const at = new Date();
    const requests = await this.liveRequests(channelId, at);
    if (requests.length === 0) {
      return {
        ok: false,
        code: 'nothing_to_close',
        message: 'Nothing to close here: no access granted, being granted or waiting for approval was requested in this channel (for a role that ends with its incident).',
      };
    }
    const allowed = await this.allowedIds(requests, (request) => mayRevoke(this.deps, request, actorId));
    return { ok: true, plan: planIncidentClose(channelId, requests.map(toIncidentRequest), (request) => allowed.has(request.id)), at };
  }

  /** `/breakglass incident close`, confirmed: ends what the person may end among the requests made in the channel up
   * to `listedAt` (what they were shown), checked again under the rows' locks. */
  async closeByCommand(channelId: string, actorId: string, listedAt: Date): Promise<Outcome<IncidentCloseResult, string>> {
    const problem = channelProblem(channelId);
    if (problem) return problem;
    const at = new Date(Math.min(listedAt.getTime(), Date.now()));
    const result = await this.close(channelId, { via: 'command', actor: actorId, at, mayEnd: (request) => mayRevoke(this.deps, request, actorId) });
    if (!result) return { ok: false, code: 'nothing_to_close', message: 'Nothing to close here any more: what was listed has ended meanwhile.' };
    return { ok: true, ...result };
  }

  /** Slack says the channel was archived (channel_archive, group_archive). Idempotent: a redelivered event finds
   * nothing live and the archive recorded already, and changes nothing. */
  async channelArchived(channelId: string, archivedBy: string | null): Promise<IncidentCloseResult | null> {
    return this.close(channelId, { via: 'archive', actor: archivedBy ?? SYSTEM_ACTOR, at: new Date(), mayEnd: async () => true });
  }

  /** Slack says the channel was unarchived: its messages go to it again. Its closed incidents stay closed; requests
   * made there from now on are a new incident. */
  async channelUnarchived(channelId: string, unarchivedBy: string | null): Promise<boolean> {
    return this.deps.store.transaction(async (tx) => {
      await lockAccessKeys(tx, [`incident:${channelId}`]);
      if ((await latestClosure(tx, channelId))?.via !== 'archive') return false; // redelivered, or never recorded
      await tx.incidentClosure.create({ data: { channelId, via: 'unarchive', closedBy: unarchivedBy ?? SYSTEM_ACTOR } });
      return true;
    });
  }

  private async close(channelId: string, options: CloseOptions): Promise<IncidentCloseResult | null> {
    const { via, actor, at } = options;
    const requests = await this.liveRequests(channelId, at);
    // Permissions may ask Slack (user groups): before the transaction, never inside it.
    const allowed = await this.allowedIds(requests, options.mayEnd);
    const plan = planIncidentClose(channelId, requests.map(toIncidentRequest), (request) => allowed.has(request.id));
    const movedOn: IncidentItem[] = [];
    const done = await this.deps.store.transaction(async (tx) => {
      // One close of a channel at a time: a redelivered archive event waits for the first and finds it recorded.
      await lockAccessKeys(tx, [`incident:${channelId}`]);
      const latest = await latestClosure(tx, channelId);
      const record = via === 'command' ? requests.length > 0 : latest?.via !== 'archive' && (await this.channelHasRequestsInFlight(tx, channelId));
      if (!record && plan.end.length + plan.cancel.length === 0) return false;
      if (record) await tx.incidentClosure.create({ data: { channelId, via, closedBy: actor, closedAt: at } });
      for (const item of [...plan.cancel, ...plan.end]) {
        const outcome = await this.endOne(tx, item, options);
        if (outcome) await recordAudit(tx, { requestId: item.id, actor, action: 'INCIDENT_CLOSED', details: { channelId, via, outcome } });
        else movedOn.push(item);
      }
      return true;
    });
    if (!done) {
      this.deps.logger.info({ channelId, via, actor }, 'incident close: nothing to close');
      return null;
    }
    const ended = new Set(movedOn.map((item) => item.id));
    this.deps.logger.info({ channelId, via, actor, ended: plan.end.length + plan.cancel.length - ended.size }, 'incident closed');
    return {
      plan: { ...plan, end: plan.end.filter((item) => !ended.has(item.id)), cancel: plan.cancel.filter((item) => !ended.has(item.id)) },
      movedOn,
    };
  }

  /** Closes a pending request unapproved, or revokes granted access early; null when it had moved on meanwhile (the
   * conditional updates are the re-check under the row's lock). */
  private async endOne(tx: StoreTransaction, item: IncidentItem, { via, actor }: CloseOptions): Promise<'closed' | 'revoked' | null> {
    const details = { reason: INCIDENT_CLOSED_REASON, via };
    const person = actor === SYSTEM_ACTOR ? null : actor;
    const closed = await this.deps.store.moveIn(tx, {
      requestId: item.id,
      from: ['PENDING'],
      to: 'TIMED_OUT',
      actor,
      action: 'TIMED_OUT',
      details,
      effects: (moved) => shown(moved, { notice: 'incident_closed', via, actorId: person, pending: true }),
    });
    if (closed) return 'closed';
    const revoked = await this.deps.ending.revokeEarlyIn(tx, item.id, actor, {
      from: ['APPROVED', 'ACTIVE'],
      endedBy: person,
      details,
      notice: { notice: 'incident_closed', via, actorId: person, pending: false },
    });
    return revoked ? 'revoked' : null;
  }

  /** Live requests made in the channel up to `at` whose role ends with its incident. */
  private async liveRequests(channelId: string, at: Date): Promise<AccessRequest[]> {
    const rows = await this.deps.db.accessRequest.findMany({
      where: { channelId, status: { in: [...incidentLiveStates] }, createdAt: { lte: at } },
      orderBy: { number: 'asc' },
    });
    return rows.filter((request) => endsWithIncident(this.deps.policy, request));
  }

  private async allowedIds(requests: readonly AccessRequest[], mayEnd: (request: AccessRequest) => Promise<boolean>): Promise<Set<string>> {
    const allowed = new Set<string>();
    for (const request of requests) if (await mayEnd(request)) allowed.add(request.id);
    return allowed;
  }

  /** Anything of the channel still under way (including revocations being retried, roles that outlive the incident):
   * their later messages must know the channel is archived. */
  private async channelHasRequestsInFlight(tx: StoreTransaction, channelId: string): Promise<boolean> {
    return (await tx.accessRequest.count({ where: { channelId, status: { in: ['PENDING', 'APPROVED', 'ACTIVE', 'REVOKING'] } } })) > 0;
  }
}

function toIncidentRequest(request: AccessRequest): IncidentRequest {
  const { id, number, status, requesterId, resourceId, roleId, expiresAt } = request;
  return { id, number, status, requesterId, resourceId, roleId, expiresAt };
}

function channelProblem(channelId: string): Refusal<'not_a_channel'> | null {
  if (INCIDENT_CHANNEL_PATTERN.test(channelId)) return null;
  return {
    ok: false,
    code: 'not_a_channel',
    message: 'Run `/breakglass incident close` in the incident channel: it ends the access requested there. Here (a direct message) there is no incident to close.',
  };
}
