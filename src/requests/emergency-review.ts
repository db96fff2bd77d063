import { checkFlagReason, DAY_SECONDS, overdueNoticeAt, reviewRefusal, type ReviewVerdict } from '../domain/emergency-rules';
import type { Outcome } from '../domain/outcome';
import { samePersonRefusal } from '../domain/people';
import type { RequestView } from '../domain/request-view';
import { findRole } from '../policy/policy-queries';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import { approverLogin, Refused } from './decide-request';
import { alertChannels } from './emergency-access';
import { effectsFor } from './effect-plans';
import { isReviewer, notFound, type RequestDeps } from './request-deps';
import type { RequestWithApprovals } from './request-reads';
import { queueEffects } from './request-store';

/**
 * The review an emergency grant owes: a reviewer marks it justified or flags it (with why), first verdict wins; never
 * the requester, nor an account with the requester's login (one person). Until then, overdue notices go out from the
 * review's deadline, daily: the outbox holds the alarm (an `emergency.overdue` effect due at that time), so it
 * survives restarts, and each notice is recorded conditionally on the count before it, so a second delivery or a
 * second process sends nothing twice.
 */
export class EmergencyReviews {
  constructor(private readonly deps: Pick<RequestDeps, 'policy' | 'directory' | 'store' | 'reads' | 'logger'>) {}

  /** Whether the actor may review the request now (checked before the Flag form opens, and again on submit). */
  async mayReview(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView }, string>> {
    const request = await this.deps.reads.findRequest(requestId);
    if (!request) return notFound;
    const refusal = await this.refusal(request, actorId);
    if (refusal) return refusal;
    return { ok: true, view: this.deps.reads.toView(request) };
  }

  justify(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView }, string>> {
    return this.decide(requestId, actorId, 'justified', null);
  }

  async flag(requestId: string, actorId: string, reasonText: string): Promise<Outcome<{ view: RequestView }, string>> {
    const reason = checkFlagReason(reasonText);
    if (!reason.ok) return reason;
    return this.decide(requestId, actorId, 'flagged', reason.reason);
  }

  /** The review's overdue alarm went off for notice number `notice`: if the review is still open and that notice not
   * yet sent, the reviewers are reminded, the security channel told, and the next notice set for a day later. */
  async overdue(requestId: string, notice: number, now = new Date()): Promise<boolean> {
    const request = await this.deps.reads.findRequest(requestId);
    const review = request?.emergencyReview;
    if (!request || !review || review.verdict) return false;
    const emergency = findRole(this.deps.policy, request.resourceId, request.roleId)?.role.emergency;
    const reviewerUsers = (await this.deps.directory.usersOf(emergency?.reviewers ?? review.reviewers)).filter((user) => user !== request.requesterId);
    const next = overdueNoticeAt(review.dueAt, notice + 1);
    // After a long outage the next notice is a day from now, not a burst of the missed ones.
    const nextAt = next.getTime() > now.getTime() ? next : new Date(now.getTime() + DAY_SECONDS * 1000);
    return this.deps.store.transaction(async (tx) => {
      const { count } = await tx.emergencyReview.updateMany({ where: { requestId, verdict: null, overdueNotices: notice - 1 }, data: { overdueNotices: notice } });
      if (count === 0) return false; // reviewed meanwhile, or this notice went out already
      await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'EMERGENCY_REVIEW_OVERDUE', details: { dueAt: review.dueAt.toISOString(), notice } });
      queueEffects(tx, [
        ...reviewerUsers.map((reviewer) => effectsFor.emergencyNotice(request, { message: 'reminder', reviewer, notice })),
        ...alertChannels(this.deps.policy, null).map((channel) => effectsFor.emergencyNotice(request, { message: 'overdue', channel, notice })),
        effectsFor.home(request),
        effectsFor.reviewOverdue(request, nextAt, notice + 1),
      ]);
      return true;
    });
  }

  private async decide(requestId: string, actorId: string, verdict: ReviewVerdict, reason: string | null): Promise<Outcome<{ view: RequestView }, string>> {
    const { reads, store, policy } = this.deps;
    const request = await reads.findRequest(requestId);
    if (!request) return notFound;
    const refusal = await this.refusal(request, actorId);
    if (refusal) return refusal;
    try {
      await store.transaction(async (tx) => {
        const { count } = await tx.emergencyReview.updateMany({
          where: { requestId, verdict: null },
          data: { verdict, reviewedBy: actorId, reviewedAt: new Date(), flagReason: reason },
        });
        if (count === 0) {
          const current = await tx.emergencyReview.findUniqueOrThrow({ where: { requestId } });
          throw new Refused(reviewRefusal(reads.toView(request), current, actorId, true)!);
        }
        await recordAudit(tx, {
          requestId,
          actor: actorId,
          action: verdict === 'justified' ? 'EMERGENCY_REVIEWED' : 'EMERGENCY_FLAGGED',
          details: verdict === 'justified' ? { verdict } : { reason },
        });
        const security = policy.revokeAlerts.securityChannel;
        queueEffects(tx, [
          effectsFor.thread(request, { notice: 'emergency_reviewed' }),
          effectsFor.refresh(request),
          effectsFor.home(request),
          ...(security ? [effectsFor.emergencyNotice(request, { message: verdict === 'justified' ? 'reviewed' : 'flagged', channel: security })] : []),
        ]);
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
    return { ok: true, view: await reads.loadView(requestId) };
  }

  /** Why the actor may not review this request, or null: a reviewer of the role, not the requester, a full member,
   * and not the requester's login. */
  private async refusal(request: RequestWithApprovals, actorId: string) {
    const { reads, directory } = this.deps;
    const review = request.emergencyReview ?? null;
    const view = reads.toView(request);
    const early = reviewRefusal(view, review, actorId, review ? await isReviewer(this.deps, request, actorId, review.reviewers) : false);
    if (early) return early;
    const actor = await approverLogin(directory, actorId);
    if (!actor.ok) return actor;
    return samePersonRefusal({ actorLogin: actor.login, requesterLogin: request.requesterLogin, counted: [], subject: 'emergency review' });
  }
}
