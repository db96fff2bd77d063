import type { Logger } from 'pino';
import { Prisma, type AccessRequest, type Approval, type Db, type RevokeAlert } from '../db/prisma';
import { alreadyApproved, checkApproval, checkDenial, notPending, quorumReached, type DecisionContext, type Refusal } from '../domain/approval-rules';
import { validateRequest } from '../domain/request-rules';
import { accessMayExistStates, assertTransition, finalStateFor, type EndReason, type RequestState } from '../domain/request-state';
import { formatDuration } from '../domain/duration';
import { humanRequestId, type RequestView } from '../domain/request-view';
import { findRole, principalMatches, requestableRoles } from '../policy/policy-queries';
import type { Policy } from '../policy/types';
import type { ProviderRegistry } from '../providers/provider-registry';
import { ProviderError, type AccessProvider, type Credentials, type GrantTarget } from '../providers/types';
import { scrubSecrets } from '../logger';
import { recordAudit, SYSTEM_ACTOR, type AuditAction } from './audit-log';
import type { RequestNotifier } from './request-notifier';
import type { UserDirectory } from './user-directory';

/** Where expiry jobs live (BullMQ). Jobs carry the request id only. */
export interface ExpiryScheduler {
  schedule(requestId: string, at: Date): Promise<void>;
  runNow(requestId: string): Promise<void>;
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

/** Long enough for any provider call (their own timeouts are shorter); past it the transaction, and with it the
 * overlap lock, is given up and the attempt counts as failed. */
const ACCESS_LOCK_TIMEOUT_MS = 5 * 60_000;
/** How long to wait for a pooled connection before a transaction gives up. */
const TRANSACTION_MAX_WAIT_MS = 30_000;

const notFound: Refusal<'not_found'> = { ok: false, code: 'not_found', message: 'I cannot find that request any more.' };

/** A failure as text. Provider errors are written for people; anything else is a bug whose details stay in the
 * logs, unless the text is only for the audit trail (`forAudit`), where the scrubbed message helps operators. */
function failureText(err: unknown, { forAudit = false } = {}): string {
  if (err instanceof ProviderError) return scrubSecrets(err.message);
  if (forAudit && err instanceof Error) return scrubSecrets(err.message);
  return 'unexpected error on the target (see the bot logs)';
}

/** The rules of Breakglass: requests, approvals, grants and revocations, as guarded state transitions. */
export class AccessService {
  constructor(
    private readonly deps: {
      db: Db;
      policy: Policy;
      providers: ProviderRegistry;
      directory: UserDirectory;
      notifier: RequestNotifier;
      expiry: ExpiryScheduler;
      logger: Logger;
    },
  ) {}

  /** Resources and roles this user may request (for the modal and help). */
  async requestableFor(userId: string) {
    return requestableRoles(this.deps.policy, userId, await this.deps.directory.groupsOf(userId));
  }

  /** Checks a request against the policy without recording anything (the modal's inline validation). */
  async checkRequest(input: SubmitRequestInput) {
    return validateRequest(this.deps.policy, { ...input, requesterGroupIds: await this.deps.directory.groupsOf(input.requesterId) });
  }

  async submitRequest(input: SubmitRequestInput): Promise<Outcome<{ view: RequestView }, string>> {
    const { db, directory, notifier } = this.deps;
    const validation = await this.checkRequest(input);
    if (!validation.ok) return validation;
    const login = await directory.loginFor(input.requesterId);
    if (!login) {
      return {
        ok: false,
        code: 'no_login',
        message: 'I do not know your login on the target systems: ask an admin to add you under `identities` in the policy, or set an email in your Slack profile.',
      };
    }
    const created = await db.$transaction(async (tx) => {
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
        const counted = await tx.accessRequest.updateMany({ where: { id: requestId, status: 'PENDING' }, data: { approvalCount: { increment: 1 } } });
        if (counted.count === 0) {
          const current = await tx.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
          throw new Refused(notPending(current.status));
        }
        const after = await tx.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
        await recordAudit(tx, { requestId, actor: actorId, action: 'APPROVAL_RECORDED', details: { approvals: after.approvalCount, required: after.requiredApprovals } });
        if (quorumReached(after.approvalCount, after.requiredApprovals)) {
          assertTransition(['PENDING'], 'APPROVED');
          const now = new Date();
          const expiresAt = new Date(now.getTime() + after.durationSeconds * 1000);
          await tx.accessRequest.update({ where: { id: requestId }, data: { status: 'APPROVED', decidedAt: now, decidedBy: actorId, expiresAt } });
          await recordAudit(tx, { requestId, actor: actorId, action: 'QUORUM_REACHED', details: { approvals: after.approvalCount, expiresAt: expiresAt.toISOString() } });
          quorum = true;
        }
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
      throw err;
    }
    const view = await this.loadView(requestId);
    await notifier.approvalRecorded(view, actorId);
    if (quorum) await this.activate(requestId);
    return { ok: true, view: await this.loadView(requestId), quorum };
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
   * Total access stays within the role's maxDuration. */
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
    const maxTotalSeconds = rule?.role.maxDurationSeconds ?? request.durationSeconds;
    if (expiresAt.getTime() - request.grantedAt.getTime() > maxTotalSeconds * 1000) {
      return { ok: false, code: 'too_long', message: `That would make ${humanRequestId(request.number)} longer than ${formatDuration(maxTotalSeconds)} in total, the most this role allows.` };
    }
    const previous = request.expiresAt;
    const extended = await this.deps.db.$transaction(async (tx) => {
      const updated = await tx.accessRequest.updateMany({ where: { id: requestId, status: 'ACTIVE', expiresAt: previous }, data: { expiresAt } });
      if (updated.count === 0) return false;
      await tx.grant.updateMany({ where: { requestId }, data: { expiresAt } });
      await recordAudit(tx, { requestId, actor: actorId, action: 'EXTENDED', details: { from: previous.toISOString(), to: expiresAt.toISOString() } });
      return true;
    });
    if (!extended) return { ok: false, code: 'changed', message: 'The request changed meanwhile; look at it again and retry.' };
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
    return { ok: true, view: await this.loadView(requestId) };
  }

  /** TEMPORARY placeholder so `/breakglass extend` can be wired and tested; the real extension flow replaces it. */
  async requestExtension(requestId: string, actorId: string, durationText: string): Promise<Outcome<{ view: RequestView; applied: boolean; message: string }, string>> {
    this.deps.logger.debug({ requestId, actorId, durationText }, 'extension asked for; not available yet');
    return { ok: false, code: 'not_available', message: 'Extensions are not available yet.' };
  }

  /** Quorum reached: schedule the expiry first (so a crash mid-grant is still cleaned up), then grant and verify. */
  private async activate(requestId: string): Promise<void> {
    const request = await this.findRequest(requestId);
    if (!request || request.status !== 'APPROVED' || !request.expiresAt) return;
    const target = this.grantTarget(request);
    let failure: string | null = null;
    try {
      await this.deps.expiry.schedule(requestId, request.expiresAt);
    } catch (err) {
      this.deps.logger.error({ err, requestId }, 'could not schedule the expiry job; not granting');
      failure = 'the expiry could not be scheduled (queue unavailable), so nothing was granted';
    }
    let outcome: { activated: boolean; credentials?: Credentials } = { activated: false };
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
          return { activated, credentials };
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
    const view = await this.loadView(requestId);
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

  /** The expiry job: revoke when due, verify, record, summarize. Idempotent; throws to be retried. */
  async processExpiry(requestId: string, now = new Date()): Promise<{ notBefore?: Date }> {
    // The hot path when many grants expire at once: one read, no approvals (revocation does not need them).
    let request = await this.deps.db.accessRequest.findUnique({ where: { id: requestId } });
    if (!request) return {};
    if (request.status === 'ACTIVE' || request.status === 'APPROVED') {
      if (request.expiresAt && request.expiresAt.getTime() > now.getTime()) return { notBefore: request.expiresAt };
      const moved = await this.transition(requestId, ['ACTIVE', 'APPROVED'], 'REVOKING', { endReason: 'expired' }, SYSTEM_ACTOR, 'EXPIRY_REACHED');
      request = moved ? { ...request, status: 'REVOKING', endReason: 'expired' } : await this.deps.db.accessRequest.findUnique({ where: { id: requestId } });
    }
    if (!request || request.status !== 'REVOKING') return {};
    await this.revokeOnTarget(request);
    return {};
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

  /** Runs `work` in a transaction holding a lock on "this access for this login on this resource", for providers
   * where two requests share it; others get a plain transaction. The lock lives as long as the transaction. */
  private underAccessLock<T>(request: AccessRequest, provider: AccessProvider, work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.deps.db.$transaction(
      async (tx) => {
        if (provider.sharing === 'login') {
          const key = JSON.stringify([request.resourceId, request.grantName, request.requesterLogin]);
          await tx.$queryRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))::text`;
        }
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

  private isStale(request: AccessRequest, now = new Date()): boolean {
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
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)) return null;
    return this.deps.db.accessRequest.findUnique({ where: { id: requestId }, include: { approvals: { orderBy: { createdAt: 'asc' } } } });
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
    const updated = await tx.accessRequest.updateMany({ where: { id: requestId, status: { in: from } }, data: { ...data, status: to } });
    if (updated.count === 0) return false;
    await recordAudit(tx, { requestId, actor, action, details: { from, to, ...details } });
    return true;
  }
}
