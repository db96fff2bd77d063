import { notPending } from '../domain/approval-rules';
import { breakGlassAvailableAt, emergencyDuration, escalationRefusal, type EmergencyVia } from '../domain/emergency-rules';
import type { Outcome } from '../domain/outcome';
import { accountRefusal } from '../domain/people';
import type { RequestView } from '../domain/request-view';
import { findRole } from '../policy/policy-queries';
import type { EmergencyRule, Policy } from '../policy/types';
import type { NewEffect } from '../effects/outbox';
import { effectsFor, type EffectSubject } from './effect-plans';
import type { Housekeeping } from './housekeeping';
import { isStale, notFound, type RequestDeps } from './request-deps';
import type { MovedRequest, RequestStore, StoreTransaction } from './request-store';

/** What breaking the glass on one request needs, looked up before its transaction. */
export interface BreakGlassPlan {
  via: EmergencyVia;
  emergency: EmergencyRule;
  /** Who invoked it (the requester). */
  actorId: string;
  durationSeconds: number;
  /** The reviewers as people (the policy's principals resolved), who get a DM each; never the requester. */
  reviewerUsers: readonly string[];
  /** Effects to write with the change besides the grant and the alerts (the new request's post, a message refresh). */
  alongside: (moved: MovedRequest) => NewEffect[];
}

/**
 * Emergency access, in the caller's store transaction: the one state change PENDING → APPROVED (action
 * EMERGENCY_INVOKED), committed with the review it owes and every effect it implies — the grant (the same
 * `access.grant` as an approved request: provider, verification, expiry job, summary), the loud alerts (the thread,
 * alerts.securityChannel, each `notify` channel, a DM to each reviewer) and the review's first overdue alarm.
 * Null when the request was no longer PENDING (someone approved or denied it first).
 */
export async function breakGlassIn(
  tx: StoreTransaction,
  store: RequestStore,
  policy: Policy,
  request: EffectSubject,
  plan: BreakGlassPlan,
  now = new Date(),
): Promise<MovedRequest | null> {
  const { emergency, via } = plan;
  const expiresAt = new Date(now.getTime() + plan.durationSeconds * 1000);
  const dueAt = new Date(now.getTime() + emergency.reviewWithinSeconds * 1000);
  const moved = await store.moveIn(tx, {
    requestId: request.id,
    from: ['PENDING'],
    to: 'APPROVED',
    data: { emergency: true, durationSeconds: plan.durationSeconds, decidedAt: now, decidedBy: plan.actorId, expiresAt },
    actor: plan.actorId,
    action: 'EMERGENCY_INVOKED',
    details: { via, reviewers: emergency.reviewers, reviewDueAt: dueAt.toISOString(), expiresAt: expiresAt.toISOString(), durationSeconds: plan.durationSeconds },
    effects: (m) => [...plan.alongside(m), effectsFor.grant(m), ...emergencyAlerts(m, policy, plan, 'invoked'), effectsFor.reviewOverdue(m, dueAt, 1)],
  });
  if (!moved) return null;
  await tx.emergencyReview.create({ data: { requestId: request.id, via, reviewers: emergency.reviewers, dueAt } });
  return moved;
}

/** The places an emergency alert goes: the security channel and the role's `notify` channels (each once). */
export function alertChannels(policy: Policy, emergency: Pick<EmergencyRule, 'notify'> | null | undefined): string[] {
  const security = policy.revokeAlerts.securityChannel;
  return [...new Set([...(security ? [security] : []), ...(emergency?.notify ?? [])])];
}

function emergencyAlerts(r: EffectSubject, policy: Policy, plan: BreakGlassPlan, message: 'invoked'): NewEffect[] {
  return [
    effectsFor.thread(r, { notice: 'emergency_invoked' }),
    ...alertChannels(policy, plan.emergency).map((channel) => effectsFor.emergencyNotice(r, { message, channel })),
    ...plan.reviewerUsers.filter((user) => user !== r.requesterId).map((reviewer) => effectsFor.emergencyNotice(r, { message, reviewer })),
  ];
}

/** "Break glass now" on a waiting request: its requester, once the role's `emergency.after` has passed, turns the
 * same request into an emergency grant (duration capped at emergency.maxDuration). */
export class EscalateRequest {
  constructor(private readonly deps: Pick<RequestDeps, 'policy' | 'directory' | 'store' | 'reads'> & { housekeeping: Housekeeping }) {}

  async escalate(requestId: string, actorId: string, now = new Date()): Promise<Outcome<{ view: RequestView; cappedFromSeconds: number | null }, string>> {
    const { reads, policy, store, directory } = this.deps;
    const request = await reads.findRequest(requestId);
    if (!request) return notFound;
    const role = findRole(policy, request.resourceId, request.roleId)?.role;
    const view = reads.toView(request);
    const refusal = escalationRefusal(view, actorId, breakGlassAvailableAt(request.createdAt, role), now);
    if (refusal) return refusal;
    if (isStale(policy, request, now)) {
      await this.deps.housekeeping.timeOut(request.id);
      return notPending('TIMED_OUT');
    }
    const account = accountRefusal(await directory.account(actorId), 'requester');
    if (account) return account;
    const emergency = role!.emergency!;
    const durationSeconds = emergencyDuration(request.durationSeconds, emergency);
    const reviewerUsers = await directory.usersOf(emergency.reviewers);
    const moved = await store.transaction((tx) =>
      breakGlassIn(tx, store, policy, request, {
        via: 'escalation',
        emergency,
        actorId,
        durationSeconds,
        reviewerUsers,
        alongside: (m) => [effectsFor.refresh(m), effectsFor.home(m)],
      }),
    );
    const after = await reads.loadView(requestId);
    if (!moved) return notPending(after.status);
    return { ok: true, view: after, cappedFromSeconds: durationSeconds < request.durationSeconds ? request.durationSeconds : null };
  }
}
