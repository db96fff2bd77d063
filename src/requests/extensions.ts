import { randomUUID } from 'node:crypto';
import { Prisma, type AccessRequest, type Extension } from '../db/prisma';
import { quorumReached } from '../domain/approval-rules';
import { formatDuration } from '../domain/duration';
import {
  checkExtensionApproval,
  checkExtensionAsk,
  checkExtensionDenial,
  extensionAlreadyApproved,
  extensionNotPending,
  reminderTime,
  type ExtensionStatus,
} from '../domain/extension-rules';
import type { ExtensionView } from '../domain/extension-view';
import type { Outcome } from '../domain/outcome';
import { humanRequestId, type RequestView } from '../domain/request-view';
import type { NewEffect } from '../effects/outbox';
import { findRole } from '../policy/policy-queries';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import { ANSWER_WAIT_MS, readUntilSettled } from './answer-wait';
import { approverLogin as loginOfApprover, countedApproval, Refused } from './decide-request';
import { samePersonRefusal, type CountedApproval } from '../domain/people';
import { effectsFor, type EffectSubject } from './effect-plans';
import { incidentClosedForRequest } from './incident-closures';
import { approverStanding, changedMeanwhile, notFound, type RequestDeps } from './request-deps';
import { toExtensionView, type ExtensionWithRequest } from './request-reads';
import { queueEffects, type StoreTransaction } from './request-store';

/** An extension's decision became final: its message, the thread and the requester hear the outcome. */
function extensionDecided(request: EffectSubject, extensionId: string): NewEffect[] {
  return [
    effectsFor.extensionRefresh(request, extensionId),
    effectsFor.refresh(request),
    effectsFor.thread(request, { notice: 'extension_outcome', extensionId }),
    effectsFor.directMessage(request, { message: 'extension_outcome', extensionId }),
    effectsFor.home(request),
  ];
}

/** Extensions still waiting when the access ended are closed (in the transaction that ends it), so nobody approves
 * time on access that is gone. */
export async function closePendingExtensionsIn(tx: StoreTransaction, requests: readonly EffectSubject[]): Promise<void> {
  if (requests.length === 0) return;
  const byId = new Map(requests.map((request) => [request.id, request]));
  const closed = await tx.extension.updateManyAndReturn({
    where: { requestId: { in: [...byId.keys()] }, status: 'PENDING' },
    data: { status: 'CANCELLED', decidedAt: new Date() },
    select: { id: true, requestId: true },
  });
  for (const { id, requestId } of closed) await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'EXTENSION_CANCELLED', details: { extensionId: id } });
  queueEffects(
    tx,
    closed.flatMap(({ id, requestId }) => extensionDecided(byId.get(requestId)!, id)),
  );
}

/** More time on active access: asked for, approved like the request when the policy says so, and applied to the
 * same grant (never a second, stacked one). The target's own expiry, the expiry job and the reminder follow as
 * effects of the change. */
export class Extensions {
  constructor(private readonly deps: Pick<RequestDeps, 'db' | 'policy' | 'directory' | 'store' | 'reads'>) {}

  /** Moves the end of active access to `expiresAt`, within the role's `extension.maxTotal`. No approvals: people go
   * through requestExtension. */
  async extend(requestId: string, actorId: string, expiresAt: Date): Promise<Outcome<{ view: RequestView }, string>> {
    const request = await this.deps.reads.findRequest(requestId);
    if (!request) return notFound;
    if (request.status !== 'ACTIVE' || !request.expiresAt || !request.grantedAt) {
      return { ok: false, code: 'not_active', message: `${humanRequestId(request.number)} is not active (it is ${request.status.toLowerCase()}).` };
    }
    if (expiresAt.getTime() <= request.expiresAt.getTime()) return { ok: false, code: 'not_later', message: 'An extension must end later than the access does now.' };
    const maxTotalSeconds = findRole(this.deps.policy, request.resourceId, request.roleId)?.role.extension.maxTotalSeconds ?? request.durationSeconds;
    if (expiresAt.getTime() - request.grantedAt.getTime() > maxTotalSeconds * 1000) {
      return {
        ok: false,
        code: 'too_long',
        message: `That would make ${humanRequestId(request.number)} longer than ${formatDuration(maxTotalSeconds)} in total, the most this role allows.`,
      };
    }
    const extended = await this.deps.store.transaction((tx) => this.moveExpiryIn(tx, request, expiresAt, actorId, {}, [effectsFor.refresh(request), effectsFor.home(request)]));
    if (!extended) return changedMeanwhile;
    return { ok: true, view: await this.deps.reads.loadView(requestId) };
  }

  /** What the Extend form needs: how much more time may be asked for, and how many approvals it takes. */
  async options(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView; maxMoreSeconds: number; approvals: number }, string>> {
    const request = await this.deps.reads.findRequest(requestId);
    if (!request) return notFound;
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    // A nominal 1s ask runs every check except the length.
    const check = checkExtensionAsk({ ...(await this.ask(request, actorId, '1s')), rule: rule?.role.extension ?? null });
    if (!check.ok && check.code !== 'too_long') return check;
    const usedSeconds = (request.expiresAt!.getTime() - request.grantedAt!.getTime()) / 1000;
    const maxMoreSeconds = Math.max(0, Math.floor(rule!.role.extension.maxTotalSeconds - usedSeconds));
    return { ok: true, view: this.deps.reads.toView(request), maxMoreSeconds, approvals: rule!.role.extension.approvals };
  }

  /** Checks an extension request without recording anything (the Extend form's inline validation). */
  async check(requestId: string, actorId: string, durationText: string): Promise<Outcome<object, string>> {
    const request = await this.deps.reads.findRequest(requestId);
    if (!request) return notFound;
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    return checkExtensionAsk({ ...(await this.ask(request, actorId, durationText)), rule: rule?.role.extension ?? null });
  }

  /** The requester asks for more time. Applied at once when the policy needs no approvals for extensions
   * (`extension.approvals: 0`); otherwise it waits in the request's thread for that many approvers. */
  async request(requestId: string, actorId: string, durationText: string): Promise<Outcome<{ view: RequestView; applied: boolean; message: string }, string>> {
    const { reads, store } = this.deps;
    const request = await reads.findRequest(requestId);
    if (!request) return notFound;
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const check = checkExtensionAsk({ ...(await this.ask(request, actorId, durationText)), rule: rule?.role.extension ?? null });
    if (!check.ok) return check;
    const required = rule!.role.extension.approvals;
    const humanId = humanRequestId(request.number);
    const more = formatDuration(check.extendBySeconds);

    if (required === 0) {
      // The id is chosen here so the EXTENDED event can name the extension, which is only recorded once it applied.
      const extensionId = randomUUID();
      const notice = effectsFor.thread(request, { notice: 'extended', actorId, extendBySeconds: check.extendBySeconds });
      const applied = await store.transaction(async (tx) => {
        if (!(await this.moveExpiryIn(tx, request, check.newExpiresAt, actorId, { extensionId, approvals: 0 }, [effectsFor.refresh(request), notice, effectsFor.home(request)])))
          return false;
        await tx.extension.create({
          data: {
            id: extensionId,
            requestId,
            requestedBy: actorId,
            extendBySeconds: check.extendBySeconds,
            status: 'APPLIED',
            requiredApprovals: 0,
            decidedAt: new Date(),
            decidedBy: actorId,
            fromExpiresAt: request.expiresAt,
            toExpiresAt: check.newExpiresAt,
          },
        });
        return true;
      });
      if (!applied) return changedMeanwhile;
      const view = await reads.loadView(requestId);
      return { ok: true, view, applied: true, message: `${humanId} now ends in ${formatDuration((check.newExpiresAt.getTime() - Date.now()) / 1000)} (${more} more).` };
    }

    let extensionId: string;
    try {
      extensionId = await store.transaction(async (tx) => {
        const created = await tx.extension.create({ data: { requestId, requestedBy: actorId, extendBySeconds: check.extendBySeconds, requiredApprovals: required } });
        await recordAudit(tx, {
          requestId,
          actor: actorId,
          action: 'EXTENSION_REQUESTED',
          details: { extensionId: created.id, extendBySeconds: check.extendBySeconds, approvalsRequired: required },
        });
        queueEffects(tx, [effectsFor.extensionPost(request, created.id)]);
        return created.id;
      });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        return { ok: false, code: 'already_pending', message: `An extension of ${humanId} is already waiting for approval in the request's thread.` };
      }
      throw err;
    }
    const posted = await readUntilSettled(
      () => reads.findExtension(extensionId),
      (extension) => extension?.messageTs != null || extension?.status !== 'PENDING',
    );
    if (posted?.status === 'CANCELLED') {
      return { ok: false, code: 'post_failed', message: `I could not post the extension request in ${humanId}'s thread, so nothing was asked. Try again in a moment.` };
    }
    const approvals = required === 1 ? '1 approval' : `${required} approvals`;
    return {
      ok: true,
      view: reads.toView(request),
      applied: false,
      message: `Asked for ${more} more on ${humanId}; it needs ${approvals} in the request's thread. I will DM you the outcome.`,
    };
  }

  async approve(extensionId: string, actorId: string): Promise<Outcome<{ view: RequestView; extension: ExtensionView; applied: boolean }, string>> {
    const { reads, store } = this.deps;
    const found = await reads.findExtension(extensionId);
    if (!found) return notFound;
    const { request } = found;
    if (found.status === 'PENDING' && request.status !== 'ACTIVE') {
      await store.transaction((tx) => closePendingExtensionsIn(tx, [request]));
      return extensionNotPending('CANCELLED');
    }
    const check = checkExtensionApproval(await this.decision(found, actorId));
    if (!check.ok) return check;
    const approver = await loginOfApprover(this.deps.directory, actorId);
    if (!approver.ok) return approver;
    const { login: approverLogin } = approver;
    const samePerson = (counted: readonly CountedApproval[]) =>
      samePersonRefusal({ actorLogin: approverLogin, requesterLogin: request.requesterLogin, counted, subject: 'extension' });
    const early = samePerson(found.approvals.map(countedApproval));
    if (early) return early;

    let applied = false;
    try {
      await store.transaction(async (tx) => {
        try {
          await tx.extensionApproval.create({ data: { extensionId, approverId: actorId, approverLogin } });
        } catch (err) {
          if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw new Refused(extensionAlreadyApproved);
          throw err;
        }
        // As for requests: the conditional increment serializes concurrent approvals on the row lock.
        const [after] = await tx.extension.updateManyAndReturn({ where: { id: extensionId, status: 'PENDING' }, data: { approvalCount: { increment: 1 } } });
        if (!after) {
          const current = await tx.extension.findUniqueOrThrow({ where: { id: extensionId } });
          throw new Refused(extensionNotPending(current.status));
        }
        // Under the extension's row lock, as for requests (DecideRequest.approve).
        if (approverLogin !== null) {
          const others = await tx.extensionApproval.findMany({ where: { extensionId, approverId: { not: actorId }, approverLogin } });
          const twin = samePerson(others.map(countedApproval));
          if (twin) throw new Refused(twin);
        }
        await recordAudit(tx, {
          requestId: request.id,
          actor: actorId,
          action: 'EXTENSION_APPROVAL_RECORDED',
          details: { extensionId, approvals: after.approvalCount, required: after.requiredApprovals, approverLogin },
        });
        if (!quorumReached(after.approvalCount, after.requiredApprovals)) {
          queueEffects(tx, [effectsFor.extensionRefresh(request, extensionId)]);
          return;
        }
        applied = await this.applyApprovedIn(tx, after, actorId);
        queueEffects(tx, extensionDecided(request, extensionId));
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
    const extension = toExtensionView((await reads.findExtension(extensionId))!);
    return { ok: true, view: await reads.loadView(request.id), extension, applied };
  }

  async deny(extensionId: string, actorId: string): Promise<Outcome<{ view: RequestView; extension: ExtensionView; withdrawn: boolean }, string>> {
    const { reads, store } = this.deps;
    const found = await reads.findExtension(extensionId);
    if (!found) return notFound;
    const check = checkExtensionDenial(await this.decision(found, actorId));
    if (!check.ok) return check;
    const moved = await store.transaction(async (tx) => {
      const updated = await tx.extension.updateMany({ where: { id: extensionId, status: 'PENDING' }, data: { status: 'DENIED', decidedAt: new Date(), decidedBy: actorId } });
      if (updated.count === 0) return false;
      await recordAudit(tx, { requestId: found.requestId, actor: actorId, action: check.withdrawn ? 'EXTENSION_WITHDRAWN' : 'EXTENSION_DENIED', details: { extensionId } });
      queueEffects(tx, extensionDecided(found.request, extensionId));
      return true;
    });
    const current = (await reads.findExtension(extensionId))!;
    if (!moved) return extensionNotPending(current.status);
    return { ok: true, view: reads.toView(current.request), extension: toExtensionView(current), withdrawn: check.withdrawn };
  }

  /** The extension's message could not be posted in the thread: without it nobody could approve or withdraw it,
   * and it would block every later ask, so it is closed. The requester is told by the ask's answer when it is still
   * waiting for the post (readUntilSettled), by a DM otherwise. */
  async postFailed(extensionId: string): Promise<void> {
    await this.deps.store.transaction(async (tx) => {
      const [closed] = await tx.extension.updateManyAndReturn({
        where: { id: extensionId, status: 'PENDING' },
        data: { status: 'CANCELLED', decidedAt: new Date(), refusalReason: 'the request in the thread could not be posted' },
        include: { request: true },
      });
      if (!closed) return;
      await recordAudit(tx, {
        requestId: closed.requestId,
        actor: SYSTEM_ACTOR,
        action: 'EXTENSION_CANCELLED',
        details: { extensionId, reason: 'the request in the thread could not be posted' },
      });
      const answeredInPlace = Date.now() - closed.createdAt.getTime() < ANSWER_WAIT_MS;
      queueEffects(tx, [...(answeredInPlace ? [] : [effectsFor.directMessage(closed.request, { message: 'extension_outcome', extensionId })]), effectsFor.home(closed.request)]);
    });
  }

  /** Applies an extension that just reached its approvals, in the approval's transaction: counted from the expiry as
   * it is now, and checked again (the access may have ended or been extended meanwhile). */
  private async applyApprovedIn(tx: StoreTransaction, extension: Extension, actorId: string): Promise<boolean> {
    const request = await tx.accessRequest.findUniqueOrThrow({ where: { id: extension.requestId } });
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const check = checkExtensionAsk({ ...(await this.ask(request, request.requesterId, `${extension.extendBySeconds}s`, tx)), rule: rule?.role.extension ?? null });
    const now = new Date();
    if (check.ok && (await this.moveExpiryIn(tx, request, check.newExpiresAt, actorId, { extensionId: extension.id, approvals: extension.approvalCount }, []))) {
      await tx.extension.update({
        where: { id: extension.id },
        data: { status: 'APPLIED', decidedAt: now, decidedBy: actorId, fromExpiresAt: request.expiresAt, toExpiresAt: check.newExpiresAt },
      });
      return true;
    }
    const reason = check.ok ? 'the access changed meanwhile' : check.message;
    await tx.extension.update({ where: { id: extension.id }, data: { status: 'REFUSED', decidedAt: now, decidedBy: actorId, refusalReason: reason } });
    await recordAudit(tx, { requestId: request.id, actor: SYSTEM_ACTOR, action: 'EXTENSION_REFUSED', details: { extensionId: extension.id, reason } });
    return false;
  }

  /** An extension ask as the rules see it, with whether the request's incident has closed (read in `tx` when given). */
  private async ask(request: AccessRequest, actorId: string, durationText: string, tx?: StoreTransaction) {
    return { ...extensionAsk(request, actorId, durationText), incidentClosed: await incidentClosedForRequest(tx ?? this.deps.db, this.deps.policy, request) };
  }

  /** The database half of an extension, conditional on the expiry not having moved, with its audit event; the
   * target's own expiry, the expiry job and a reminder for the new end follow as effects. */
  private async moveExpiryIn(
    tx: StoreTransaction,
    request: AccessRequest,
    expiresAt: Date,
    actorId: string,
    details: Record<string, unknown>,
    shownEffects: NewEffect[],
  ): Promise<boolean> {
    const previous = request.expiresAt!;
    const updated = await tx.accessRequest.updateMany({ where: { id: request.id, status: 'ACTIVE', expiresAt: previous }, data: { expiresAt, reminderSentAt: null } });
    if (updated.count === 0) return false;
    await tx.grant.updateMany({ where: { requestId: request.id }, data: { expiresAt } });
    await recordAudit(tx, { requestId: request.id, actor: actorId, action: 'EXTENDED', details: { from: previous.toISOString(), to: expiresAt.toISOString(), ...details } });
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const remindAt = rule ? reminderTime(new Date(), expiresAt, rule.role.remindBeforeSeconds) : null;
    queueEffects(tx, [
      effectsFor.extendOnTarget(request, expiresAt),
      effectsFor.scheduleExpiry(request, expiresAt),
      ...(remindAt ? [effectsFor.scheduleReminder(request, remindAt, expiresAt)] : []),
      ...shownEffects,
    ]);
    return true;
  }

  private async decision(extension: ExtensionWithRequest, actorId: string) {
    const standing = await approverStanding(this.deps, extension.request, actorId);
    return {
      status: extension.status as ExtensionStatus,
      requesterId: extension.request.requesterId,
      actorId,
      actorIsApprover: standing.approver,
      approvedBy: extension.approvals.map((approval) => approval.approverId),
      onCallUnchecked: standing.unchecked,
    };
  }
}

function extensionAsk(request: AccessRequest, actorId: string, durationText: string) {
  return {
    status: request.status,
    humanId: humanRequestId(request.number),
    requesterId: request.requesterId,
    actorId,
    grantedAt: request.grantedAt,
    expiresAt: request.expiresAt,
    durationText,
  };
}
