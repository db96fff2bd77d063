import { Prisma } from '../db/prisma';
import { alreadyApproved, checkApproval, checkDenial, notPending, quorumReached, type DecisionContext, type Refusal } from '../domain/approval-rules';
import type { Outcome } from '../domain/outcome';
import { accountRefusal, samePersonRefusal, type CountedApproval } from '../domain/people';
import type { RequestView } from '../domain/request-view';
import { recordAudit } from '../services/audit-log';
import { queueEffects } from './request-store';
import { effectsFor, shown } from './effect-plans';
import type { Housekeeping } from './housekeeping';
import { approverStanding, isStale, notFound, type RequestDeps } from './request-deps';
import type { RequestWithApprovals } from './request-reads';

/** A refusal decided inside a transaction: thrown to roll it back, turned into a result outside. */
export class Refused extends Error {
  constructor(readonly refusal: Refusal<string>) {
    super(refusal.message);
  }
}

/** Approve and Deny on a request. Quorum commits APPROVED with the grant as an effect: the grant runs from the
 * outbox at once, never behind the Slack notices of the approval. */
export class DecideRequest {
  constructor(private readonly deps: Pick<RequestDeps, 'policy' | 'directory' | 'store' | 'reads'> & { housekeeping: Housekeeping }) {}

  async approve(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView; quorum: boolean }, string>> {
    const { reads, store } = this.deps;
    const request = await reads.findRequest(requestId);
    if (!request) return notFound;
    if (request.status === 'PENDING' && isStale(this.deps.policy, request)) {
      await this.deps.housekeeping.timeOut(request.id);
      return notPending('TIMED_OUT');
    }
    const { context, onCall } = await this.decisionContext(request, actorId);
    const check = checkApproval(context);
    if (!check.ok) return check;
    const approver = await this.approverLogin(actorId);
    if (!approver.ok) return approver;
    const { login: approverLogin } = approver;
    const samePerson = (counted: readonly CountedApproval[]) =>
      samePersonRefusal({ actorLogin: approverLogin, requesterLogin: request.requesterLogin, counted, subject: 'request' });
    const early = samePerson(request.approvals.map(countedApproval));
    if (early) return early;

    let quorum = false;
    try {
      await store.transaction(async (tx) => {
        try {
          await tx.approval.create({ data: { requestId, approverId: actorId, approverLogin } });
        } catch (err) {
          if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw new Refused(alreadyApproved);
          throw err;
        }
        // The conditional increment takes the row lock: concurrent approvals of one request run one after the
        // other from here, so exactly one of them sees the count reach the quorum.
        const [after] = await tx.accessRequest.updateManyAndReturn({
          where: { id: requestId, status: 'PENDING' },
          data: { approvalCount: { increment: 1 } },
          select: { approvalCount: true, requiredApprovals: true, durationSeconds: true },
        });
        if (!after) {
          const current = await tx.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
          throw new Refused(notPending(current.status));
        }
        // Under the row lock, so of two accounts of one person approving at once, the second sees the first.
        if (approverLogin !== null) {
          const others = await tx.approval.findMany({ where: { requestId, approverId: { not: actorId }, approverLogin } });
          const twin = samePerson(others.map(countedApproval));
          if (twin) throw new Refused(twin);
        }
        await recordAudit(tx, {
          requestId,
          actor: actorId,
          action: 'APPROVAL_RECORDED',
          // onCall: the on-call schedules the approver was on call for at the time (PagerDuty keeps no such record for us).
          details: { approvals: after.approvalCount, required: after.requiredApprovals, approverLogin, ...(onCall.length > 0 ? { onCall } : {}) },
        });
        queueEffects(tx, shown(request, { notice: 'approval_recorded', approverId: actorId, approvals: after.approvalCount }));
        if (!quorumReached(after.approvalCount, after.requiredApprovals)) return;
        const now = new Date();
        const expiresAt = new Date(now.getTime() + after.durationSeconds * 1000);
        // It cannot miss: this transaction holds the row lock.
        quorum =
          (await store.moveIn(tx, {
            requestId,
            from: ['PENDING'],
            to: 'APPROVED',
            data: { decidedAt: now, decidedBy: actorId, expiresAt },
            actor: actorId,
            action: 'QUORUM_REACHED',
            details: { approvals: after.approvalCount, expiresAt: expiresAt.toISOString() },
            effects: (moved) => [effectsFor.grant(moved)],
          })) !== null;
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
    return { ok: true, view: await reads.loadView(requestId), quorum };
  }

  async deny(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView; withdrawn: boolean }, string>> {
    const request = await this.deps.reads.findRequest(requestId);
    if (!request) return notFound;
    const check = checkDenial((await this.decisionContext(request, actorId)).context);
    if (!check.ok) return check;
    const moved = await this.deps.store.move({
      requestId,
      from: ['PENDING'],
      to: 'DENIED',
      data: { decidedAt: new Date(), decidedBy: actorId },
      actor: actorId,
      action: check.withdrawn ? 'WITHDRAWN' : 'DENIED',
      effects: (movedRequest) => shown(movedRequest, { notice: 'denied' }),
    });
    const view = await this.deps.reads.loadView(requestId);
    if (!moved) return notPending(view.status);
    return { ok: true, view, withdrawn: check.withdrawn };
  }

  /** The approving account's login (null: it has none), or why the account may not approve at all. */
  private approverLogin(actorId: string) {
    return approverLogin(this.deps.directory, actorId);
  }

  private async decisionContext(request: RequestWithApprovals, actorId: string): Promise<{ context: DecisionContext; onCall: string[] }> {
    const standing = await approverStanding(this.deps, request, actorId);
    const context: DecisionContext = {
      status: request.status,
      requesterId: request.requesterId,
      actorId,
      actorIsApprover: standing.approver,
      approvedBy: request.approvals.map((a) => a.approverId),
      onCallUnchecked: standing.unchecked,
    };
    return { context, onCall: standing.onCall };
  }
}

/** An approval as the same-person rule compares it. */
export function countedApproval(approval: { approverId: string; approverLogin: string | null }): CountedApproval {
  return { approverId: approval.approverId, login: approval.approverLogin };
}

/** Whether the account may approve (only full members may) and, if so, its login on the targets, which the
 * same-person rule compares; null when it has none (approvers need no login of their own). */
export async function approverLogin(directory: RequestDeps['directory'], actorId: string): Promise<Outcome<{ login: string | null }, string>> {
  const account = await directory.account(actorId);
  const refusal = accountRefusal(account, 'approver');
  if (refusal) return refusal;
  const resolved = directory.loginOf(account);
  return { ok: true, login: resolved.ok ? resolved.login : null };
}
