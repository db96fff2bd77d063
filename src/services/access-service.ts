import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Prisma, type AccessRequest, type Approval, type Db, type Extension, type ExtensionApproval, type RevokeAlert } from '../db/prisma';
import { alreadyApproved, checkApproval, checkDenial, notPending, quorumReached, type DecisionContext, type Refusal } from '../domain/approval-rules';
import { checkNotAlreadyRequested, validateRequest, type RejectedRequest, type ValidRequest } from '../domain/request-rules';
import { accessMayExistStates, assertTransition, finalStateFor, liveRequestStates, type EndReason, type RequestState } from '../domain/request-state';
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
import { humanRequestId, type RequestView } from '../domain/request-view';
import { findRole, principalMatches, requestableRoles } from '../policy/policy-queries';
import type { Policy } from '../policy/types';
import type { ProviderRegistry } from '../providers/provider-registry';
import { ProviderError, type AccessProvider, type Credentials, type GrantTarget } from '../providers/types';
import { scrubSecrets } from '../logger';
import type { AccessMetrics } from '../metrics/access-metrics';
import { recordAudit, SYSTEM_ACTOR, type AuditAction } from './audit-log';
import { ExpirySweeper, lockAccessKeys, revocationLockKey, type SweepOutcome } from './expiry-sweeper';
import type { RequestNotifier } from './request-notifier';
import type { UserDirectory } from './user-directory';

/** Where expiry jobs live (BullMQ). Jobs carry the request id only. */
export interface ExpiryScheduler {
  schedule(requestId: string, at: Date): Promise<void>;
  runNow(requestId: string): Promise<void>;
}

/** Where "your access ends soon" reminders wait (BullMQ). */
export interface ReminderScheduler {
  schedule(requestId: string, at: Date, expiresAt: Date): Promise<void>;
}

export type Outcome<Value, Code extends string> = ({ ok: true } & Value) | Refusal<Code>;

export interface SubmitRequestInput {
  requesterId: string;
  channelId: string;
  resourceId: string;
  roleId: string;
  durationText: string;
  ticket: string | null;
  reason: string;
}

/** A refusal decided inside a transaction: thrown to roll it back, turned into a result outside. */
class Refused extends Error {
  constructor(readonly refusal: Refusal<string>) {
    super(refusal.message);
  }
}

/** Thrown by the expiry job when the target did not let go; BullMQ retries it with backoff. */
export class RevocationFailedError extends Error {
  override readonly name = 'RevocationFailedError';
}

type RequestWithApprovals = AccessRequest & { approvals: Approval[] };
type ExtensionWithApprovals = Extension & { approvals: ExtensionApproval[] };

/** What a status change returns for the metrics (times to derive durations from). */
const MOVE_FIELDS = { resourceId: true, roleId: true, createdAt: true, decidedAt: true, expiresAt: true, endedAt: true } as const;

/** Long enough for any provider call (their own timeouts are shorter); past it the transaction, and with it the
 * overlap lock, is given up and the attempt counts as failed. */
const ACCESS_LOCK_TIMEOUT_MS = 5 * 60_000;
/** How long to wait for a pooled connection before a transaction gives up. */
const TRANSACTION_MAX_WAIT_MS = 30_000;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How long the Slack side of swept requests waits for the sweeps still running in this process to finish. */
const ENDED_NOTICE_MAX_DEFER_MS = 10_000;
const ENDED_NOTICE_SLICE = 25;

const notFound: Refusal<'not_found'> = { ok: false, code: 'not_found', message: 'I cannot find that request any more.' };

/** A failure as text. Provider errors are written for people; anything else is a bug whose details stay in the
 * logs, unless the text is only for the audit trail (`forAudit`), where the scrubbed message helps operators. */
function failureText(err: unknown, { forAudit = false } = {}): string {
  if (err instanceof ProviderError) return scrubSecrets(err.message);
  if (forAudit && err instanceof Error) return scrubSecrets(err.message);
  return 'unexpected error on the target (see the bot logs)';
}

/** A requester's PENDING, APPROVED or ACTIVE request, as far as the one-live-request rule needs it. */
type LiveRequest = Pick<AccessRequest, 'id' | 'number' | 'status' | 'expiresAt' | 'createdAt'>;

/** The rules of Breakglass: requests, approvals, grants and revocations, as guarded state transitions. */
export class AccessService {
  private readonly sweeper: ExpirySweeper;

  constructor(
    private readonly deps: {
      db: Db;
      policy: Policy;
      providers: ProviderRegistry;
      directory: UserDirectory;
      notifier: RequestNotifier;
      expiry: ExpiryScheduler;
      reminders: ReminderScheduler;
      logger: Logger;
      /** Told about every status change and failed revocation (Prometheus); optional. */
      metrics?: AccessMetrics;
      /** Provider calls in flight at once while sweeping expiries (the expiry worker's concurrency). */
      expiryConcurrency?: number;
    },
  ) {
    this.sweeper = new ExpirySweeper({
      db: deps.db,
      providers: deps.providers,
      logger: deps.logger,
      providerConcurrency: deps.expiryConcurrency ?? 20,
      grantTarget: (request) => this.grantTarget(request),
      recordFailure: async (request, err) => {
        const error = failureText(err, { forAudit: true });
        await this.recordRevokeFailure(request, error);
        return error;
      },
      ended: (requests, endedAt) => {
        for (const request of requests) this.deps.metrics?.requestMoved({ ...request, to: 'EXPIRED', action: 'EXPIRED', endedAt });
        this.notifyEnded(requests.map((request) => request.id));
      },
    });
  }

  /** Resources and roles this user may request (for the modal and help). */
  async requestableFor(userId: string) {
    return requestableRoles(this.deps.policy, userId, await this.deps.directory.groupsOf(userId));
  }

  /** Checks a request against the policy, and that the requester does not already hold or wait for the same access,
   * without recording anything (the modal's inline validation). */
  async checkRequest(input: SubmitRequestInput): Promise<ValidRequest | RejectedRequest> {
    return (await this.checkWithLiveRequests(input)).validation;
  }

  /** checkRequest, and the requester's live requests of the same access it read (empty when the policy refused). */
  private async checkWithLiveRequests(input: SubmitRequestInput) {
    const validation = validateRequest(this.deps.policy, { ...input, requesterGroupIds: await this.deps.directory.groupsOf(input.requesterId) });
    if (!validation.ok) return { validation, live: [] };
    const live = await this.liveRequestsOf(input.requesterId, validation);
    return { validation: this.alreadyRequested(validation, live) ?? validation, live };
  }

  async submitRequest(input: SubmitRequestInput): Promise<Outcome<{ view: RequestView }, string>> {
    const { db, directory, notifier } = this.deps;
    const { validation, live } = await this.checkWithLiveRequests(input);
    if (!validation.ok) return validation;
    const login = await directory.loginFor(input.requesterId);
    if (!login) {
      return {
        ok: false,
        code: 'no_login',
        message: 'I do not know your login on the target systems: ask an admin to add you under `identities` in the policy, or set an email in your Slack profile.',
      };
    }
    // A request of the same access left waiting past requestTtl is closed now rather than by the next reconcile,
    // so it does not stand in the way of this one.
    for (const request of live) {
      if (request.status === 'PENDING' && this.isStale(request)) await this.timeOut(request.id);
    }
    let created: AccessRequest;
    try {
      created = await db.$transaction(async (tx) => {
        const request = await tx.accessRequest.create({
          data: {
            requesterId: input.requesterId,
            requesterLogin: login,
            resourceId: validation.resource.id,
            roleId: validation.role.id,
            grantName: validation.role.grant,
            durationSeconds: validation.durationSeconds,
            reason: validation.reason,
            ticket: validation.ticket,
            channelId: input.channelId,
            requiredApprovals: validation.role.approvals,
          },
        });
        await recordAudit(tx, {
          requestId: request.id,
          actor: input.requesterId,
          action: 'REQUESTED',
          details: { resource: request.resourceId, role: request.roleId, durationSeconds: request.durationSeconds, ticket: request.ticket, reason: request.reason, login, channel: input.channelId },
        });
        return request;
      });
    } catch (err) {
      // The partial unique index on live requests: an identical submission (a double submit, a Slack retry) got in
      // between the check above and this insert.
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        return (
          this.alreadyRequested(validation, await this.liveRequestsOf(input.requesterId, validation)) ?? {
            ok: false,
            code: 'changed',
            message: 'Another request of yours for the same access was being recorded at the same moment; see `/breakglass list`, and try again if you still need this one.',
          }
        );
      }
      throw err;
    }
    let view = await this.loadView(created.id);
    try {
      const { ts } = await notifier.postRequest(view);
      await db.accessRequest.update({ where: { id: created.id }, data: { messageTs: ts } });
    } catch (err) {
      this.deps.logger.warn({ err, requestId: created.id }, 'could not post the approval message');
      await this.transition(created.id, ['PENDING'], 'FAILED', { failureReason: 'the approval message could not be posted' }, SYSTEM_ACTOR, 'POST_FAILED');
      return { ok: false, code: 'post_failed', message: `I could not post the approval request in <#${input.channelId}>. Invite me first (\`/invite @Breakglass\`), then try again. Nothing was requested.` };
    }
    view = await this.loadView(created.id);
    return { ok: true, view };
  }

  async approve(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView; quorum: boolean }, string>> {
    const { db, notifier } = this.deps;
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    if (request.status === 'PENDING' && this.isStale(request)) {
      await this.timeOut(request.id);
      return notPending('TIMED_OUT');
    }
    const check = checkApproval(await this.decisionContext(request, actorId));
    if (!check.ok) return check;

    let quorum = false;
    try {
      await db.$transaction(async (tx) => {
        try {
          await tx.approval.create({ data: { requestId, approverId: actorId } });
        } catch (err) {
          if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
            throw new Refused(alreadyApproved);
          }
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
        await recordAudit(tx, { requestId, actor: actorId, action: 'APPROVAL_RECORDED', details: { approvals: after.approvalCount, required: after.requiredApprovals } });
        if (quorumReached(after.approvalCount, after.requiredApprovals)) {
          const now = new Date();
          const expiresAt = new Date(now.getTime() + after.durationSeconds * 1000);
          // Through transitionIn like every status change; it cannot miss, as this transaction holds the row lock.
          quorum = await this.transitionIn(tx, requestId, ['PENDING'], 'APPROVED', { decidedAt: now, decidedBy: actorId, expiresAt }, actorId, 'QUORUM_REACHED', {
            approvals: after.approvalCount,
            expiresAt: expiresAt.toISOString(),
          });
        }
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
    // One read after the commit serves the notification, the grant and the answer (approvals do not change after
    // quorum; the grant re-checks the status under its lock).
    const approved = await this.findRequest(requestId);
    if (!approved) return notFound;
    const view = this.toView(approved);
    await notifier.approvalRecorded(view, actorId);
    if (quorum) await this.activate(approved);
    return { ok: true, view, quorum };
  }

  async deny(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView; withdrawn: boolean }, string>> {
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    const check = checkDenial(await this.decisionContext(request, actorId));
    if (!check.ok) return check;
    const moved = await this.transition(requestId, ['PENDING'], 'DENIED', { decidedAt: new Date(), decidedBy: actorId }, actorId, check.withdrawn ? 'WITHDRAWN' : 'DENIED');
    if (!moved) return this.alreadyDecided(requestId);
    const view = await this.loadView(requestId);
    await this.deps.notifier.denied(view);
    return { ok: true, view, withdrawn: check.withdrawn };
  }

  /** Ends active access early. The revocation itself runs in the expiry worker, which retries until it holds. */
  async revokeNow(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView }, string>> {
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    const allowed = actorId === request.requesterId || this.deps.policy.admins.includes(actorId) || (await this.isApprover(request, actorId));
    if (!allowed) {
      return { ok: false, code: 'not_allowed', message: 'Only the requester, an approver of this role or a Breakglass admin can revoke this access.' };
    }
    if (request.status === 'APPROVED') {
      return { ok: false, code: 'not_active', message: 'Access is still being granted; try again in a moment.' };
    }
    const moved = await this.transition(requestId, ['ACTIVE'], 'REVOKING', { endReason: 'revoked', endedBy: actorId }, actorId, 'REVOKE_REQUESTED');
    if (!moved) {
      const current = await this.loadView(requestId);
      const message = current.status === 'REVOKING' ? 'This access is already being revoked.' : `This request is not active (it is ${current.status.toLowerCase()}).`;
      return { ok: false, code: 'not_active', message };
    }
    const view = await this.loadView(requestId);
    await this.deps.notifier.revokeRequested(view, actorId);
    try {
      await this.deps.expiry.runNow(requestId);
    } catch (err) {
      // The reconciler re-queues REVOKING requests, so the revocation still happens once the queue is back.
      this.deps.logger.error({ err, requestId }, 'could not queue the revocation; the reconciler will retry it');
    }
    return { ok: true, view };
  }

  /** Asks for a failing revocation to be attempted again at once (the alert's Retry now). Anyone may: it can only
   * take access away sooner. */
  async retryRevocation(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView }, string>> {
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    if (request.status !== 'REVOKING') {
      return { ok: false, code: 'not_revoking', message: `${humanRequestId(request.number)} is not waiting to be revoked any more (it is ${request.status.toLowerCase()}).` };
    }
    await this.deps.db.$transaction((tx) => recordAudit(tx, { requestId, actor: actorId, action: 'RETRY_REQUESTED', details: { attempts: request.revokeAttempts } }));
    await this.deps.expiry.runNow(requestId);
    return { ok: true, view: await this.loadView(requestId) };
  }

  /** Moves the end of active access to `expiresAt`, on the same grant (never a second, stacked one): the target's
   * own expiry (e.g. VALID UNTIL) follows, and the expiry job sleeps until the new time when it wakes early.
   * Total access stays within the role's `extension.maxTotal`. No approvals: people go through requestExtension. */
  async extend(requestId: string, actorId: string, expiresAt: Date): Promise<Outcome<{ view: RequestView }, string>> {
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    if (request.status !== 'ACTIVE' || !request.expiresAt || !request.grantedAt) {
      return { ok: false, code: 'not_active', message: `${humanRequestId(request.number)} is not active (it is ${request.status.toLowerCase()}).` };
    }
    if (expiresAt.getTime() <= request.expiresAt.getTime()) {
      return { ok: false, code: 'not_later', message: 'An extension must end later than the access does now.' };
    }
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const maxTotalSeconds = rule?.role.extension.maxTotalSeconds ?? request.durationSeconds;
    if (expiresAt.getTime() - request.grantedAt.getTime() > maxTotalSeconds * 1000) {
      return { ok: false, code: 'too_long', message: `That would make ${humanRequestId(request.number)} longer than ${formatDuration(maxTotalSeconds)} in total, the most this role allows.` };
    }
    const extended = await this.deps.db.$transaction((tx) => this.moveExpiryIn(tx, request, expiresAt, actorId, {}));
    if (!extended) return { ok: false, code: 'changed', message: 'The request changed meanwhile; look at it again and retry.' };
    await this.afterExpiryMoved(request, expiresAt);
    return { ok: true, view: await this.loadView(requestId) };
  }

  /** What the Extend form needs: how much more time may be asked for, and how many approvals it takes. */
  async extensionOptions(requestId: string, actorId: string): Promise<Outcome<{ view: RequestView; maxMoreSeconds: number; approvals: number }, string>> {
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    // A nominal 1s ask runs every check except the length.
    const check = checkExtensionAsk({ ...this.extensionAsk(request, actorId, '1s'), rule: rule?.role.extension ?? null });
    if (!check.ok && check.code !== 'too_long') return check;
    const usedSeconds = (request.expiresAt!.getTime() - request.grantedAt!.getTime()) / 1000;
    const maxMoreSeconds = Math.max(0, Math.floor(rule!.role.extension.maxTotalSeconds - usedSeconds));
    return { ok: true, view: this.toView(request), maxMoreSeconds, approvals: rule!.role.extension.approvals };
  }

  /** Checks an extension request without recording anything (the Extend form's inline validation). */
  async checkExtension(requestId: string, actorId: string, durationText: string): Promise<Outcome<object, string>> {
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    return checkExtensionAsk({ ...this.extensionAsk(request, actorId, durationText), rule: rule?.role.extension ?? null });
  }

  /** The requester asks for more time. Applied at once when the policy needs no approvals for extensions
   * (`extension.approvals: 0`); otherwise it waits in the request's thread for that many approvers, like the
   * request itself. Either way the same grant is extended, within `extension.maxTotal`. */
  async requestExtension(requestId: string, actorId: string, durationText: string): Promise<Outcome<{ view: RequestView; applied: boolean; message: string }, string>> {
    const request = await this.findRequest(requestId);
    if (!request) return notFound;
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const check = checkExtensionAsk({ ...this.extensionAsk(request, actorId, durationText), rule: rule?.role.extension ?? null });
    if (!check.ok) return check;
    const required = rule!.role.extension.approvals;
    const humanId = humanRequestId(request.number);
    const more = formatDuration(check.extendBySeconds);

    if (required === 0) {
      // The id is chosen here so the EXTENDED event can name the extension, which is only recorded once it applied.
      const extensionId = randomUUID();
      const applied = await this.deps.db.$transaction(async (tx) => {
        if (!(await this.moveExpiryIn(tx, request, check.newExpiresAt, actorId, { extensionId, approvals: 0 }))) return false;
        await tx.extension.create({
          data: { id: extensionId, requestId, requestedBy: actorId, extendBySeconds: check.extendBySeconds, status: 'APPLIED', requiredApprovals: 0, decidedAt: new Date(), decidedBy: actorId, fromExpiresAt: request.expiresAt, toExpiresAt: check.newExpiresAt },
        });
        return true;
      });
      if (!applied) return this.changedMeanwhile();
      await this.afterExpiryMoved(request, check.newExpiresAt);
      const view = await this.loadView(requestId);
      this.deps.notifier.inBackground(() => this.deps.notifier.extended(view, actorId, check.extendBySeconds));
      return { ok: true, view, applied: true, message: `${humanId} now ends in ${formatDuration((check.newExpiresAt.getTime() - Date.now()) / 1000)} (${more} more).` };
    }

    let extension: ExtensionWithApprovals;
    try {
      extension = await this.deps.db.$transaction(async (tx) => {
        const created = await tx.extension.create({
          data: { requestId, requestedBy: actorId, extendBySeconds: check.extendBySeconds, requiredApprovals: required },
          include: { approvals: true },
        });
        await recordAudit(tx, { requestId, actor: actorId, action: 'EXTENSION_REQUESTED', details: { extensionId: created.id, extendBySeconds: check.extendBySeconds, approvalsRequired: required } });
        return created;
      });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        return { ok: false, code: 'already_pending', message: `An extension of ${humanId} is already waiting for approval in the request's thread.` };
      }
      throw err;
    }
    const view = this.toView(request);
    const ts = await this.deps.notifier.extensionRequested(view, toExtensionView(extension));
    if (!ts) {
      // Without its message nobody could approve or withdraw it, and it would block every later ask: close it.
      await this.closeExtension(extension.id, request.id, { reason: 'the request in the thread could not be posted' });
      return { ok: false, code: 'post_failed', message: `I could not post the extension request in ${humanId}'s thread, so nothing was asked. Try again in a moment.` };
    }
    await this.deps.db.extension.update({ where: { id: extension.id }, data: { messageTs: ts } });
    const approvals = required === 1 ? '1 approval' : `${required} approvals`;
    return { ok: true, view, applied: false, message: `Asked for ${more} more on ${humanId}; it needs ${approvals} in the request's thread. I will DM you the outcome.` };
  }

  async approveExtension(extensionId: string, actorId: string): Promise<Outcome<{ view: RequestView; extension: ExtensionView; applied: boolean }, string>> {
    const found = await this.findExtension(extensionId);
    if (!found) return notFound;
    const { request } = found;
    if (found.status === 'PENDING' && request.status !== 'ACTIVE') {
      await this.cancelPendingExtensions([request.id]);
      return extensionNotPending('CANCELLED');
    }
    const check = checkExtensionApproval(await this.extensionDecision(found, actorId));
    if (!check.ok) return check;

    let applied = false;
    try {
      await this.deps.db.$transaction(async (tx) => {
        try {
          await tx.extensionApproval.create({ data: { extensionId, approverId: actorId } });
        } catch (err) {
          if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw new Refused(extensionAlreadyApproved);
          throw err;
        }
        // As for requests: the conditional increment serializes concurrent approvals on the row lock.
        const counted = await tx.extension.updateMany({ where: { id: extensionId, status: 'PENDING' }, data: { approvalCount: { increment: 1 } } });
        if (counted.count === 0) {
          const current = await tx.extension.findUniqueOrThrow({ where: { id: extensionId } });
          throw new Refused(extensionNotPending(current.status));
        }
        const after = await tx.extension.findUniqueOrThrow({ where: { id: extensionId } });
        await recordAudit(tx, { requestId: request.id, actor: actorId, action: 'EXTENSION_APPROVAL_RECORDED', details: { extensionId, approvals: after.approvalCount, required: after.requiredApprovals } });
        if (!quorumReached(after.approvalCount, after.requiredApprovals)) return;
        applied = await this.applyApprovedExtensionIn(tx, after, actorId);
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
    const extension = toExtensionView((await this.findExtension(extensionId))!);
    if (applied) await this.afterExpiryMoved(request, extension.toExpiresAt!);
    const view = await this.loadView(request.id);
    await this.deps.notifier.extensionUpdated(view, extension);
    return { ok: true, view, extension, applied };
  }

  async denyExtension(extensionId: string, actorId: string): Promise<Outcome<{ view: RequestView; extension: ExtensionView; withdrawn: boolean }, string>> {
    const found = await this.findExtension(extensionId);
    if (!found) return notFound;
    const check = checkExtensionDenial(await this.extensionDecision(found, actorId));
    if (!check.ok) return check;
    const moved = await this.deps.db.$transaction(async (tx) => {
      const updated = await tx.extension.updateMany({ where: { id: extensionId, status: 'PENDING' }, data: { status: 'DENIED', decidedAt: new Date(), decidedBy: actorId } });
      if (updated.count === 0) return false;
      await recordAudit(tx, { requestId: found.requestId, actor: actorId, action: check.withdrawn ? 'EXTENSION_WITHDRAWN' : 'EXTENSION_DENIED', details: { extensionId } });
      return true;
    });
    const current = (await this.findExtension(extensionId))!;
    if (!moved) return extensionNotPending(current.status);
    const extension = toExtensionView(current);
    const view = this.toView(current.request);
    await this.deps.notifier.extensionUpdated(view, extension);
    return { ok: true, view, extension, withdrawn: check.withdrawn };
  }

  /** Extensions still waiting when the access ended are closed, so nobody approves time on access that is gone. */
  async cancelPendingExtensions(requestIds: string[]): Promise<void> {
    const pending = await this.deps.db.extension.findMany({ where: { requestId: { in: requestIds }, status: 'PENDING' }, select: { id: true, requestId: true } });
    for (const { id, requestId } of pending) {
      if (!(await this.closeExtension(id, requestId, {}))) continue;
      const current = (await this.findExtension(id))!;
      await this.deps.notifier.extensionUpdated(this.toView(current.request), toExtensionView(current));
    }
  }

  /** A waiting extension → CANCELLED, with its audit event; false when it was no longer waiting. */
  private closeExtension(extensionId: string, requestId: string, details: Record<string, unknown>): Promise<boolean> {
    return this.deps.db.$transaction(async (tx) => {
      const updated = await tx.extension.updateMany({ where: { id: extensionId, status: 'PENDING' }, data: { status: 'CANCELLED', decidedAt: new Date() } });
      if (updated.count === 1) await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'EXTENSION_CANCELLED', details: { extensionId, ...details } });
      return updated.count === 1;
    });
  }

  /** The reminder job: tells the requester their access ends soon, with Extend and I'm done. Only for the expiry
   * it was scheduled for (an extension schedules a new one) and only once (the conditional update). */
  async sendReminder(requestId: string, forExpiresAt: Date): Promise<boolean> {
    const now = new Date();
    const marked = await this.deps.db.$transaction(async (tx) => {
      const updated = await tx.accessRequest.updateMany({
        where: { id: requestId, status: 'ACTIVE', expiresAt: forExpiresAt, reminderSentAt: null },
        data: { reminderSentAt: now },
      });
      if (updated.count === 0) return false;
      await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'REMINDER_SENT', details: { expiresAt: forExpiresAt.toISOString() } });
      return true;
    });
    if (!marked) return false;
    const options = await this.extensionOptions(requestId, (await this.loadView(requestId)).requesterId);
    if (!options.ok) return true;
    await this.deps.notifier.reminder(options.view, { maxMoreSeconds: options.maxMoreSeconds, approvals: options.approvals });
    return true;
  }

  /** Reminders whose job was lost (Redis flushed) and are now due. Returns how many were sent. For the reconciler. */
  async sendDueReminders(now = new Date()): Promise<number> {
    const longestWarning = Math.max(0, ...this.deps.policy.resources.flatMap((resource) => resource.roles.map((role) => role.remindBeforeSeconds)));
    const candidates = await this.deps.db.accessRequest.findMany({
      where: { status: 'ACTIVE', reminderSentAt: null, expiresAt: { gt: now, lte: new Date(now.getTime() + longestWarning * 1000) } },
      select: { id: true, resourceId: true, roleId: true, grantedAt: true, expiresAt: true },
    });
    let sent = 0;
    for (const candidate of candidates) {
      const rule = findRole(this.deps.policy, candidate.resourceId, candidate.roleId);
      if (!rule || !candidate.grantedAt || !candidate.expiresAt) continue;
      const due = reminderTime(candidate.grantedAt, candidate.expiresAt, rule.role.remindBeforeSeconds);
      if (due && due.getTime() <= now.getTime() && (await this.sendReminder(candidate.id, candidate.expiresAt))) sent++;
    }
    return sent;
  }

  /** Applies an extension that just reached its approvals, in the approval's transaction: counted from the expiry as
   * it is now, and checked again (the access may have ended or been extended meanwhile). */
  private async applyApprovedExtensionIn(tx: Prisma.TransactionClient, extension: Extension, actorId: string): Promise<boolean> {
    const request = await tx.accessRequest.findUniqueOrThrow({ where: { id: extension.requestId } });
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const check = checkExtensionAsk({
      ...this.extensionAsk(request, request.requesterId, `${extension.extendBySeconds}s`),
      rule: rule?.role.extension ?? null,
    });
    const now = new Date();
    if (check.ok && (await this.moveExpiryIn(tx, request, check.newExpiresAt, actorId, { extensionId: extension.id, approvals: extension.approvalCount }))) {
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

  /** The database half of an extension: conditional on the expiry not having moved, with its audit event. The
   * reminder is re-armed for the new expiry. */
  private async moveExpiryIn(tx: Prisma.TransactionClient, request: AccessRequest, expiresAt: Date, actorId: string, details: Record<string, unknown>): Promise<boolean> {
    const previous = request.expiresAt!;
    const updated = await tx.accessRequest.updateMany({ where: { id: request.id, status: 'ACTIVE', expiresAt: previous }, data: { expiresAt, reminderSentAt: null } });
    if (updated.count === 0) return false;
    await tx.grant.updateMany({ where: { requestId: request.id }, data: { expiresAt } });
    await recordAudit(tx, { requestId: request.id, actor: actorId, action: 'EXTENDED', details: { from: previous.toISOString(), to: expiresAt.toISOString(), ...details } });
    return true;
  }

  /** The rest of an extension, after its transaction: the target's own expiry, the expiry job and the reminder. */
  private async afterExpiryMoved(request: AccessRequest, expiresAt: Date): Promise<void> {
    const requestId = request.id;
    try {
      await this.deps.providers.get(request.resourceId).extend({ ...this.grantTarget(request), expiresAt });
    } catch (err) {
      // Access stays in place until our own revocation, which now runs at the new time; only the target's
      // second line of defence (e.g. VALID UNTIL) still has the old time, so it may end access early.
      const error = failureText(err, { forAudit: true });
      this.deps.logger.warn({ err, requestId }, 'the target did not take the new expiry');
      await this.deps.db.$transaction((tx) => recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'EXTEND_ON_TARGET_FAILED', details: { error } }));
    }
    await this.deps.expiry.schedule(requestId, expiresAt);
    await this.scheduleReminder(request, new Date(), expiresAt);
  }

  /** Best effort: a reminder that cannot be queued is sent by the reconciler once due. */
  private async scheduleReminder(request: AccessRequest, since: Date, expiresAt: Date): Promise<void> {
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const at = rule ? reminderTime(since, expiresAt, rule.role.remindBeforeSeconds) : null;
    if (!at) return;
    await this.deps.reminders.schedule(request.id, at, expiresAt).catch((err: unknown) => this.deps.logger.warn({ err, requestId: request.id }, 'could not queue the reminder; the reconciler sends it when due'));
  }

  private extensionAsk(request: AccessRequest, actorId: string, durationText: string) {
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

  private async extensionDecision(extension: ExtensionWithApprovals & { request: AccessRequest }, actorId: string) {
    return {
      status: extension.status as ExtensionStatus,
      requesterId: extension.request.requesterId,
      actorId,
      actorIsApprover: await this.isApprover(extension.request, actorId),
      approvedBy: extension.approvals.map((approval) => approval.approverId),
    };
  }

  private changedMeanwhile(): Refusal<'changed'> {
    return { ok: false, code: 'changed', message: 'The request changed meanwhile; look at it again and retry.' };
  }

  private async findExtension(extensionId: string) {
    if (!UUID_PATTERN.test(extensionId)) return null;
    return this.deps.db.extension.findUnique({
      where: { id: extensionId },
      include: { approvals: { orderBy: { createdAt: 'asc' } }, request: { include: { approvals: { orderBy: { createdAt: 'asc' } } } } },
    });
  }

  /** Quorum reached: schedule the expiry first (so a crash mid-grant is still cleaned up), then grant and verify. */
  private async activate(request: RequestWithApprovals): Promise<void> {
    const requestId = request.id;
    if (request.status !== 'APPROVED' || !request.expiresAt) return;
    const target = this.grantTarget(request);
    let failure: string | null = null;
    try {
      await this.deps.expiry.schedule(requestId, request.expiresAt);
    } catch (err) {
      this.deps.logger.error({ err, requestId }, 'could not schedule the expiry job; not granting');
      failure = 'the expiry could not be scheduled (queue unavailable), so nothing was granted';
    }
    let outcome: { activated: boolean; credentials?: Credentials; grantedAt?: Date } = { activated: false };
    if (!failure) {
      try {
        const provider = this.deps.providers.get(request.resourceId);
        // Under the overlap lock, a grant cannot land between another grant's "nobody else holds this" check and
        // its revoke; the ACTIVE row is committed before the lock is released.
        outcome = await this.underAccessLock(request, provider, async (tx) => {
          const { credentials } = await provider.grant(target);
          if (!(await provider.verify(target))) throw new ProviderError('the grant did not show up on the target when checked');
          const grantedAt = new Date();
          const activated = await this.transitionIn(tx, requestId, ['APPROVED'], 'ACTIVE', { grantedAt }, SYSTEM_ACTOR, 'GRANTED', {
            login: request.requesterLogin,
            grant: request.grantName,
            expiresAt: request.expiresAt!.toISOString(),
            // Whether credentials were handed out, never what they are.
            ...(credentials ? { temporaryLogin: credentials.username } : {}),
          });
          if (activated) {
            await tx.grant.create({
              data: { requestId, resourceId: request.resourceId, roleId: request.roleId, login: credentials?.username ?? request.requesterLogin, grantedAt, expiresAt: request.expiresAt! },
            });
          }
          return { activated, credentials, grantedAt };
        });
      } catch (err) {
        this.deps.logger.warn({ err, requestId }, 'grant failed');
        failure = failureText(err);
      }
    }
    if (failure) {
      await this.rollBack(requestId, ['APPROVED'], failure);
      return;
    }
    if (!outcome.activated) {
      // Expiry or a rollback overtook the grant while it was in flight: its revocation (queued by whoever moved
      // the request) takes the late grant away again.
      this.deps.logger.warn({ requestId }, 'request left APPROVED while granting; its revocation undoes the late grant');
      await this.deps.expiry.runNow(requestId).catch((err) => this.deps.logger.error({ err, requestId }, 'could not queue the revocation; the reconciler will retry it'));
      return;
    }
    this.deps.logger.info({ requestId, to: 'ACTIVE', action: 'GRANTED', actor: SYSTEM_ACTOR }, 'request changed state');
    // What the ACTIVE transition just wrote; the message refresh re-reads anyway.
    const view = this.toView({ ...request, status: 'ACTIVE', grantedAt: outcome.grantedAt ?? new Date() });
    if (outcome.credentials) {
      try {
        await this.deps.notifier.deliverCredentials(view, outcome.credentials);
      } catch (err) {
        this.deps.logger.warn({ err: { message: (err as Error).message }, requestId }, 'could not deliver the temporary login');
        // Credentials nobody received are useless and must not linger.
        await this.rollBack(requestId, ['ACTIVE'], 'the temporary login could not be sent to the requester by direct message, so it was taken back');
        return;
      }
    }
    await this.deps.notifier.granted(view);
    await this.scheduleReminder(request, view.grantedAt ?? new Date(), request.expiresAt);
  }

  /** A grant that failed, was interrupted or cannot be used is taken back through the retrying revocation, and the
   * thread says why. Returns false when the request had already moved on (someone else is handling it). */
  private async rollBack(requestId: string, from: RequestState[], failure: string): Promise<boolean> {
    const moved = await this.transition(requestId, from, 'REVOKING', { endReason: 'grant_failed', failureReason: failure }, SYSTEM_ACTOR, 'GRANT_FAILED', { error: failure });
    if (!moved) return false;
    await this.deps.notifier.grantFailed(await this.loadView(requestId));
    await this.deps.expiry.runNow(requestId).catch((err) => this.deps.logger.error({ err, requestId }, 'could not queue the rollback; the reconciler will retry it'));
    return true;
  }

  /** No new expiry sweeps from this process (a stop); waits at most `graceMs` for the running ones. */
  stopSweeping(graceMs: number): Promise<void> {
    return this.sweeper.stop(graceMs);
  }

  /** The expiry job: revoke when due, verify, record, summarize. Idempotent; throws to be retried. When the request
   * is due, the job sweeps every due request with it (see ExpirySweeper); the jobs of the others then find their
   * request ended, or wait for the sweep that has it. */
  async processExpiry(requestId: string, now = new Date()): Promise<{ notBefore?: Date }> {
    if (this.sweeper.recentlyEnded(requestId)) return {};
    // A sweep here has it: its outcome is this job's (sweeps do not need worker slots to go on, see
    // ExpirySweeper's follow-on sweeps, so waiting here holds nothing up).
    const swept = await this.sweeper.inProgress(requestId);
    if (swept) return this.settle(requestId, swept);
    // One read, no approvals (revocation does not need them).
    let request = await this.deps.db.accessRequest.findUnique({ where: { id: requestId } });
    if (!request) return {};
    if (request.status === 'ACTIVE' || request.status === 'APPROVED') {
      if (request.expiresAt && request.expiresAt.getTime() > now.getTime()) return { notBefore: request.expiresAt };
      const outcome = (await this.sweeper.sweep(requestId, now)).get(requestId) ?? (await this.sweeper.inProgress(requestId));
      if (outcome) return this.settle(requestId, outcome);
      // Not claimed by a sweep here: another process has it, or a transaction held its row. The single path below
      // waits for either and finds out.
      request = await this.deps.db.accessRequest.findUnique({ where: { id: requestId } });
      if (request && (request.status === 'ACTIVE' || request.status === 'APPROVED')) {
        const moved = await this.transition(requestId, ['ACTIVE', 'APPROVED'], 'REVOKING', { endReason: 'expired' }, SYSTEM_ACTOR, 'EXPIRY_REACHED');
        request = moved ? { ...request, status: 'REVOKING', endReason: 'expired' } : await this.deps.db.accessRequest.findUnique({ where: { id: requestId } });
      }
    }
    if (!request || request.status !== 'REVOKING') return {};
    await this.revokeOnTarget(request);
    return {};
  }

  /** A sweep's result for this job's own request: a failure (already recorded) fails the job, so BullMQ retries it. */
  private settle(requestId: string, outcome: SweepOutcome): { notBefore?: Date } {
    if (outcome.revoked) return {};
    throw new RevocationFailedError(`revoking request ${requestId} failed: ${outcome.error}`);
  }

  /** Summaries for requests a sweep ended: their views in one read, the Slack side in the background. */
  private notifyEnded(requestIds: string[]): void {
    this.deps.notifier.inBackground(async () => {
      // Revocations first: thousands of message updates and posts would otherwise compete with the sweeps still
      // running for the event loop, the CPU and the pool (the summaries are paced per channel anyway).
      await this.sweeper.whenIdle(ENDED_NOTICE_MAX_DEFER_MS);
      const requests = await this.deps.db.accessRequest.findMany({ where: { id: { in: requestIds } }, include: { approvals: { orderBy: { createdAt: 'asc' } } } });
      // One read for all their timelines: one each, started together, would queue thousands of reads in the pool
      // ahead of the next sweep's.
      const timelines = await this.deps.notifier.timelinesOf(requestIds);
      const notices: Promise<void>[] = [];
      for (const [index, request] of requests.entries()) {
        // Started a slice at a time, letting other work in between: Slack's acks must not wait behind hundreds of
        // messages being built at once.
        if (index > 0 && index % ENDED_NOTICE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        const notice = this.deps.notifier.ended(this.toView(request), timelines.get(request.id) ?? []);
        notice.catch(() => undefined); // reported through Promise.all below; not unhandled while we yield
        notices.push(notice);
      }
      await Promise.all(notices);
    });
    this.deps.notifier.inBackground(() => this.cancelPendingExtensions(requestIds));
  }

  /** Takes the access away on the target, unless another active Breakglass grant gives the same login the same
   * access (overlapping requests): then the access stays for that one, whose own expiry revokes it. */
  private async revokeOnTarget(request: AccessRequest): Promise<void> {
    const requestId = request.id;
    const target = this.grantTarget(request);
    const reason = (request.endReason ?? 'expired') as EndReason;
    const action: AuditAction = reason === 'expired' ? 'EXPIRED' : reason === 'revoked' ? 'REVOKED' : 'ROLLED_BACK';
    const endedAt = new Date();
    let ended: boolean;
    try {
      const provider = this.deps.providers.get(request.resourceId);
      ended = await this.underAccessLock(request, provider, async (tx) => {
        // A sweep (here or in another process) may have ended it while we waited for the lock: revoke once.
        const current = await tx.accessRequest.findUnique({ where: { id: requestId }, select: { status: true } });
        if (current?.status !== 'REVOKING') return false;
        const stillHeldBy = provider.sharing === 'login' ? await this.otherActiveHolder(tx, request) : null;
        if (!stillHeldBy) {
          await provider.revoke(target);
          if (await provider.verify(target)) throw new ProviderError('the access is still there after revoking');
        }
        const moved = await this.transitionIn(tx, requestId, ['REVOKING'], finalStateFor(reason), { endedAt }, SYSTEM_ACTOR, action, {
          login: request.requesterLogin,
          grant: request.grantName,
          ...(stillHeldBy ? { keptOnTargetFor: stillHeldBy } : {}),
        });
        if (moved) {
          await tx.grant.updateMany({ where: { requestId, status: 'ACTIVE' }, data: { status: 'REVOKED', revokedAt: endedAt } });
          if (request.revokeFailingSince) await tx.revokeAlert.updateMany({ where: { requestId, resolvedAt: null }, data: { resolvedAt: endedAt } });
        }
        return moved;
      });
    } catch (err) {
      await this.recordRevokeFailure(request, failureText(err, { forAudit: true }));
      throw new RevocationFailedError(`revoking ${humanRequestId(request.number)} failed: ${failureText(err, { forAudit: true })}`);
    }
    if (!ended) return;
    this.deps.logger.info({ requestId, action }, 'request changed state');
    // Revoked first, told afterwards: Slack being slow or down must never hold up the next revocation.
    this.deps.notifier.inBackground(async () => this.deps.notifier.ended(await this.loadView(requestId)));
    this.deps.notifier.inBackground(() => this.cancelPendingExtensions([requestId]));
    if (request.revokeFailingSince) this.deps.notifier.inBackground(() => this.updateRevokeAlerts(requestId));
  }

  /** Counts the failure; from the policy's threshold on, people are alerted (and the alert kept current). */
  private async recordRevokeFailure(request: AccessRequest, error: string): Promise<void> {
    const requestId = request.id;
    const { afterFailures } = this.deps.policy.revokeAlerts;
    const attempts = await this.deps.db.$transaction(async (tx) => {
      const updated = await tx.accessRequest.update({ where: { id: requestId }, data: { revokeAttempts: { increment: 1 }, lastRevokeError: error }, select: { revokeAttempts: true } });
      await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'REVOKE_FAILED', details: { error, attempt: updated.revokeAttempts } });
      if (updated.revokeAttempts >= afterFailures) {
        const marked = await tx.accessRequest.updateMany({ where: { id: requestId, revokeFailingSince: null }, data: { revokeFailingSince: new Date() } });
        if (marked.count === 1) await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'REVOKE_ALERTED', details: { attempts: updated.revokeAttempts, error } });
      }
      return updated.revokeAttempts;
    });
    this.deps.metrics?.revocationFailed(request.resourceId);
    this.deps.logger.warn({ requestId, attempts, error }, 'revocation failed; it will be retried');
    if (attempts >= afterFailures) this.deps.notifier.inBackground(() => this.updateRevokeAlerts(requestId));
  }

  /** Posts the failing-revocation alert where it is missing (incident channel, security channel) and refreshes the
   * ones already posted, so each channel has one alert per grant that says how things stand. */
  private async updateRevokeAlerts(requestId: string): Promise<void> {
    const view = await this.loadView(requestId);
    const failingCount = await this.countFailingRevocations();
    const posted = await this.deps.db.revokeAlert.findMany({ where: { requestId } });
    const channels = [view.channelId, this.deps.policy.revokeAlerts.securityChannel].filter((channel): channel is string => channel !== null);
    for (const channelId of channels) {
      const existing: RevokeAlert | undefined = posted.find((alert) => alert.channelId === channelId);
      if (existing) {
        await this.deps.notifier.updateRevokeAlert(view, channelId, existing.messageTs, failingCount);
        continue;
      }
      if (view.status !== 'REVOKING') continue; // resolved before the alert went out: nothing to raise
      const ts = await this.deps.notifier.postRevokeAlert(view, channelId, failingCount);
      if (!ts) continue;
      // Two failures racing to post: the unique (request, channel) row keeps one; the other message is updated
      // to say it is a duplicate rather than left as a second live alert.
      const created = await this.deps.db.revokeAlert.createMany({ data: [{ requestId, channelId, messageTs: ts }], skipDuplicates: true });
      if (created.count === 0) await this.deps.notifier.retractDuplicateAlert(channelId, ts);
    }
  }

  /** Grants whose revocation keeps failing, right now. */
  countFailingRevocations(): Promise<number> {
    return this.deps.db.accessRequest.count({ where: { status: 'REVOKING', revokeFailingSince: { not: null } } });
  }

  /** Another ACTIVE request that gives the same login the same access on the same resource, if any. */
  private async otherActiveHolder(tx: Prisma.TransactionClient, request: AccessRequest): Promise<string | null> {
    const other = await tx.accessRequest.findFirst({
      where: { id: { not: request.id }, resourceId: request.resourceId, grantName: request.grantName, requesterLogin: request.requesterLogin, status: 'ACTIVE' },
      select: { number: true },
    });
    return other ? humanRequestId(other.number) : null;
  }

  /** Runs `work` in a transaction holding the lock of this piece of access (revocationLockKey): the access itself
   * where requests share it (so a grant cannot land between another request's "nobody else holds this" check and
   * its revoke), the request otherwise (so a revoke waits for a grant still in flight, and never runs twice at once:
   * a sweep and the request's own job, in two processes). The lock lives as long as the transaction. */
  private underAccessLock<T>(request: AccessRequest, provider: AccessProvider, work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.deps.db.$transaction(
      async (tx) => {
        await lockAccessKeys(tx, [revocationLockKey(request, provider)]);
        return work(tx);
      },
      { timeout: ACCESS_LOCK_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS },
    );
  }

  /** A grant that has not finished this long after quorum was interrupted (the bot stopped mid-grant): it is rolled
   * back and reported, rather than leaving the requester waiting with nothing until the expiry. Far above any
   * provider timeout, so a grant still in flight is never taken for an interrupted one. */
  static readonly INTERRUPTED_GRANT_MS = 2 * 60_000;

  /** Rolls back grants interrupted mid-way; returns how many. For the reconciler. */
  async failInterruptedGrants(now = new Date()): Promise<number> {
    const stuck = await this.deps.db.accessRequest.findMany({
      where: { status: 'APPROVED', decidedAt: { lt: new Date(now.getTime() - AccessService.INTERRUPTED_GRANT_MS) } },
      select: { id: true },
    });
    let failed = 0;
    for (const { id } of stuck) {
      if (await this.rollBack(id, ['APPROVED'], 'the bot stopped while granting; anything granted is rolled back, please request again')) failed++;
    }
    return failed;
  }

  /** Pending requests nobody decided within the policy's requestTtl are closed, so nobody approves a stale request
   * (an incident long over, a reason no longer true). Returns how many. For the reconciler. */
  async timeOutStaleRequests(now = new Date()): Promise<number> {
    const stale = await this.deps.db.accessRequest.findMany({
      where: { status: 'PENDING', createdAt: { lt: new Date(now.getTime() - this.deps.policy.requestTtlSeconds * 1000) } },
      select: { id: true },
    });
    let timedOut = 0;
    for (const { id } of stale) if (await this.timeOut(id)) timedOut++;
    return timedOut;
  }

  private isStale(request: Pick<AccessRequest, 'createdAt'>, now = new Date()): boolean {
    return now.getTime() - request.createdAt.getTime() > this.deps.policy.requestTtlSeconds * 1000;
  }

  private async timeOut(requestId: string): Promise<boolean> {
    const moved = await this.transition(requestId, ['PENDING'], 'TIMED_OUT', {}, SYSTEM_ACTOR, 'TIMED_OUT', { requestTtlSeconds: this.deps.policy.requestTtlSeconds });
    if (moved) await this.deps.notifier.timedOut(await this.loadView(requestId), this.deps.policy.requestTtlSeconds);
    return moved;
  }

  /** Requests that may hold access on a target, with when their expiry job should run. For the reconciler. */
  async requestsNeedingExpiryJobs(): Promise<Array<{ id: string; runAt: Date }>> {
    const rows = await this.deps.db.accessRequest.findMany({
      where: { status: { in: [...accessMayExistStates] } },
      select: { id: true, status: true, expiresAt: true },
    });
    return rows.map((row) => ({ id: row.id, runAt: row.status === 'REVOKING' || !row.expiresAt ? new Date() : row.expiresAt }));
  }

  async loadView(requestId: string): Promise<RequestView> {
    const request = await this.findRequest(requestId);
    if (!request) throw new Error(`request ${requestId} not found`);
    return this.toView(request);
  }

  private toView(request: RequestWithApprovals): RequestView {
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    return {
      id: request.id,
      humanId: humanRequestId(request.number),
      status: request.status,
      requesterId: request.requesterId,
      requesterLogin: request.requesterLogin,
      resourceId: request.resourceId,
      resourceDescription: rule?.resource.description ?? null,
      roleId: request.roleId,
      durationSeconds: request.durationSeconds,
      reason: request.reason,
      ticket: request.ticket,
      channelId: request.channelId,
      messageTs: request.messageTs,
      requiredApprovals: request.requiredApprovals,
      approverPrincipals: rule?.role.approvers ?? [],
      approvals: request.approvals.map((a) => ({ approverId: a.approverId, at: a.createdAt })),
      createdAt: request.createdAt,
      decidedAt: request.decidedAt,
      decidedBy: request.decidedBy,
      grantedAt: request.grantedAt,
      expiresAt: request.expiresAt,
      endedAt: request.endedAt,
      endedBy: request.endedBy,
      endReason: (request.endReason as EndReason | null) ?? null,
      failureReason: request.failureReason,
      revokeAttempts: request.revokeAttempts,
      lastRevokeError: request.lastRevokeError,
      revokeFailingSince: request.revokeFailingSince,
    };
  }

  private async findRequest(requestId: string): Promise<RequestWithApprovals | null> {
    // Button values come from Slack: anything that is not a UUID cannot be ours.
    if (!UUID_PATTERN.test(requestId)) return null;
    return this.deps.db.accessRequest.findUnique({ where: { id: requestId }, include: { approvals: { orderBy: { createdAt: 'asc' } } } });
  }

  /** The refusal for a request of access this requester already holds or waits for, or null. A PENDING request past
   * requestTtl does not count: it is as good as timed out (submitRequest closes it). */
  private alreadyRequested(validation: ValidRequest, live: LiveRequest[]): RejectedRequest | null {
    const blocking = live.find((request) => !(request.status === 'PENDING' && this.isStale(request)));
    return checkNotAlreadyRequested(validation.resource, validation.role, blocking ?? null);
  }

  /** The requester's PENDING, APPROVED or ACTIVE requests for this resource and role, newest first: one, except for
   * requests from before the unique index (see the one_live_request_per_role migration). */
  private liveRequestsOf(requesterId: string, { resource, role }: ValidRequest): Promise<LiveRequest[]> {
    return this.deps.db.accessRequest.findMany({
      where: { requesterId, resourceId: resource.id, roleId: role.id, status: { in: [...liveRequestStates] } },
      select: { id: true, number: true, status: true, expiresAt: true, createdAt: true },
      orderBy: { number: 'desc' },
    });
  }

  private async decisionContext(request: RequestWithApprovals, actorId: string): Promise<DecisionContext> {
    return {
      status: request.status,
      requesterId: request.requesterId,
      actorId,
      actorIsApprover: await this.isApprover(request, actorId),
      approvedBy: request.approvals.map((a) => a.approverId),
    };
  }

  private async isApprover(request: AccessRequest, actorId: string): Promise<boolean> {
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    if (!rule) return false;
    return principalMatches(rule.role.approvers, actorId, await this.deps.directory.groupsOf(actorId));
  }

  private async alreadyDecided(requestId: string): Promise<Refusal<string>> {
    return notPending((await this.loadView(requestId)).status);
  }

  private grantTarget(request: AccessRequest): GrantTarget {
    return {
      requestId: request.id,
      requestNumber: request.number,
      slackId: request.requesterId,
      login: request.requesterLogin,
      resourceId: request.resourceId,
      roleId: request.roleId,
      grant: request.grantName,
      expiresAt: request.expiresAt ?? new Date(),
      reason: request.reason,
      ticket: request.ticket,
    };
  }

  /** The one way a request changes status: conditional on the old status, with its audit event in the same
   * transaction. Returns false when another actor moved the request first. */
  private async transition(
    requestId: string,
    from: RequestState[],
    to: RequestState,
    data: Prisma.AccessRequestUpdateManyMutationInput,
    actor: string,
    action: AuditAction,
    details: Record<string, unknown> = {},
  ): Promise<boolean> {
    const moved = await this.deps.db.$transaction((tx) => this.transitionIn(tx, requestId, from, to, data, actor, action, details));
    if (moved) this.deps.logger.info({ requestId, to, action, actor }, 'request changed state');
    return moved;
  }

  /** `transition` inside a transaction the caller holds (and logs after it commits). */
  private async transitionIn(
    tx: Prisma.TransactionClient,
    requestId: string,
    from: RequestState[],
    to: RequestState,
    data: Prisma.AccessRequestUpdateManyMutationInput,
    actor: string,
    action: AuditAction,
    details: Record<string, unknown> = {},
  ): Promise<boolean> {
    assertTransition(from, to);
    const updated = await tx.accessRequest.updateManyAndReturn({ where: { id: requestId, status: { in: from } }, data: { ...data, status: to }, select: MOVE_FIELDS });
    if (updated.length === 0) return false;
    await recordAudit(tx, { requestId, actor, action, details: { from, to, ...details } });
    // Counted before the commit: a transaction that then fails (the database going away) may count once too often.
    this.deps.metrics?.requestMoved({ ...updated[0], to, action });
    return true;
  }
}

export function toExtensionView(extension: ExtensionWithApprovals): ExtensionView {
  return {
    id: extension.id,
    requestId: extension.requestId,
    requestedBy: extension.requestedBy,
    extendBySeconds: extension.extendBySeconds,
    status: extension.status,
    requiredApprovals: extension.requiredApprovals,
    approvals: extension.approvals.map((approval) => ({ approverId: approval.approverId, at: approval.createdAt })),
    messageTs: extension.messageTs,
    createdAt: extension.createdAt,
    decidedAt: extension.decidedAt,
    decidedBy: extension.decidedBy,
    fromExpiresAt: extension.fromExpiresAt,
    toExpiresAt: extension.toExpiresAt,
    refusalReason: extension.refusalReason,
  };
}
