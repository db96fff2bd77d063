import { Prisma, type AccessRequest } from '../db/prisma';
import type { Outcome } from '../domain/outcome';
import { accountRefusal } from '../domain/people';
import {
  checkNotAlreadyRequested,
  checkRequestRate,
  requestAllowedIn,
  validateRequest,
  wrongChannelMessage,
  type RejectedRequest,
  type TypedRequest,
  type ValidRequest,
} from '../domain/request-rules';
import { liveRequestStates } from '../domain/request-state';
import { breakGlassAvailableAt, checkEmergencyRequest, type EmergencyVia } from '../domain/emergency-rules';
import { findRole } from '../policy/policy-queries';
import { breakGlassIn } from './emergency-access';
import type { RequestView } from '../domain/request-view';
import { requestableRoles } from '../policy/policy-queries';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import { mentionChannel } from '../domain/user-text';
import { lockAccessKeys } from './access-locks';
import { Refused } from './decide-request';
import { queueEffects } from './request-store';
import { readUntilSettled } from './answer-wait';
import { effectsFor } from './effect-plans';
import type { Housekeeping } from './housekeeping';
import { isStale, type RequestDeps } from './request-deps';

export interface SubmitRequestInput extends TypedRequest {
  requesterId: string;
}

/** A requester's PENDING, APPROVED or ACTIVE request, as far as the one-live-request rule needs it. */
type LiveRequest = Pick<AccessRequest, 'id' | 'number' | 'status' | 'expiresAt' | 'createdAt'>;

/** `/breakglass <resource> <role> …` and the request form: checks, records the request with its approval message
 * as an effect, and answers once Slack has taken (or refused) the message. */
export class SubmitRequest {
  constructor(private readonly deps: Pick<RequestDeps, 'db' | 'policy' | 'directory' | 'store' | 'reads' | 'logger'> & { housekeeping: Housekeeping }) {}

  /** Resources and roles this user may request (for the modal and help); with `channelId`, only those that may be
   * requested there (the policy's `requestChannels`). */
  async requestableFor(userId: string, channelId?: string) {
    const requestable = requestableRoles(this.deps.policy, userId, await this.deps.directory.groupsOf(userId));
    return channelId === undefined ? requestable : requestable.filter(({ role }) => requestAllowedIn(role, channelId));
  }

  /** What the request form offers in `channelId`, or why there is nothing to ask for there (and where to ask). */
  async formFor(userId: string, channelId: string): Promise<Outcome<{ requestable: Awaited<ReturnType<SubmitRequest['requestableFor']>> }, string>> {
    const everywhere = await this.requestableFor(userId);
    if (everywhere.length === 0) {
      return { ok: false, code: 'nothing_requestable', message: 'The Breakglass policy lets you request nothing yet; ask the Breakglass admins to add you as a requester.' };
    }
    const requestable = everywhere.filter(({ role }) => requestAllowedIn(role, channelId));
    if (requestable.length === 0) return { ok: false, code: 'wrong_channel', message: wrongChannelMessage(channelId, everywhere) };
    return { ok: true, requestable };
  }

  /** Checks a request against the policy, and that the requester does not already hold or wait for the same access,
   * without recording anything (the modal's inline validation). */
  async check(input: SubmitRequestInput, options: { emergency?: boolean } = {}): Promise<ValidRequest | RejectedRequest> {
    return (await this.checkWithLiveRequests(input, options.emergency === true)).validation;
  }

  /** Records the request and asks its approvers; with `emergency`, grants it at once instead (emergency access, for
   * roles that allow it: see breakGlassIn), after the same checks. */
  async submit(input: SubmitRequestInput, options: { emergency?: EmergencyVia } = {}): Promise<Outcome<{ view: RequestView }, string>> {
    const { directory, store, policy } = this.deps;
    const { validation, live } = await this.checkWithLiveRequests(input, options.emergency !== undefined);
    if (!validation.ok) return validation;
    const emergency = options.emergency !== undefined ? validation.role.emergency : null;
    const reviewerUsers = emergency ? await directory.usersOf(emergency.reviewers) : [];
    // Only full members request, under a login the policy vouches for (identities, or a listed e-mail domain).
    const account = await directory.account(input.requesterId);
    const refusal = accountRefusal(account, 'requester');
    if (refusal) return refusal;
    const resolved = directory.loginOf(account);
    if (!resolved.ok) return resolved;
    const { login } = resolved;
    // A request of the same access left waiting past requestTtl is closed now rather than by the next reconcile,
    // so it does not stand in the way of this one.
    for (const request of live) {
      if (request.status === 'PENDING' && isStale(this.deps.policy, request)) await this.deps.housekeeping.timeOut(request.id);
    }
    let created: AccessRequest;
    try {
      created = await store.transaction(async (tx) => {
        // One requester's submissions take turns here, so racing ones cannot get past the rate limit together.
        await lockAccessKeys(tx, [JSON.stringify(['requests-of', input.requesterId])]);
        const recent = await tx.accessRequest.findMany({
          where: { requesterId: input.requesterId, createdAt: { gt: new Date(Date.now() - 3_600_000) } },
          select: { createdAt: true },
        });
        const tooMany = checkRequestRate(
          recent.map((request) => request.createdAt),
          this.deps.policy.requestsPerHour,
        );
        if (tooMany) throw new Refused(tooMany);
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
          details: {
            resource: request.resourceId,
            role: request.roleId,
            durationSeconds: request.durationSeconds,
            ticket: request.ticket,
            reason: request.reason,
            login,
            channel: input.channelId,
          },
        });
        if (emergency && options.emergency) {
          // The message first: the emergency alert is a reply in its thread.
          queueEffects(tx, [effectsFor.postRequest(request), effectsFor.home(request)]);
          const plan = { via: options.emergency, emergency, actorId: input.requesterId, durationSeconds: request.durationSeconds, reviewerUsers, alongside: () => [] };
          await breakGlassIn(tx, store, policy, request, plan);
          return request;
        }
        const offerAt = breakGlassAvailableAt(request.createdAt, validation.role);
        queueEffects(tx, [effectsFor.postRequest(request), effectsFor.home(request), ...(offerAt ? [effectsFor.breakGlassOffer(request, offerAt)] : [])]);
        return request;
      });
    } catch (err) {
      if (err instanceof Refused) return err.refusal;
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
    const view = await readUntilSettled(
      () => this.deps.reads.loadView(created.id),
      (current) => current.messageTs !== null || current.status !== 'PENDING',
    );
    if (view.status === 'FAILED') {
      return {
        ok: false,
        code: 'post_failed',
        message: `I could not post the approval request in ${mentionChannel(input.channelId)}. Invite me first (\`/invite @Breakglass\`), then try again. Nothing was requested.`,
      };
    }
    return { ok: true, view };
  }

  /** The approval message was refused for good (the bot is not in the channel…): nobody can act on the request,
   * so it fails; the requester hears it from `submit` when it is still waiting, and sees it in the App Home. */
  async postFailed(requestId: string, reason: string): Promise<void> {
    await this.deps.store.move({
      requestId,
      from: ['PENDING'],
      to: 'FAILED',
      data: { failureReason: reason },
      actor: SYSTEM_ACTOR,
      action: 'POST_FAILED',
      effects: (moved) => [effectsFor.home(moved)],
    });
  }

  /** check, and the requester's live requests of the same access it read (empty when the policy refused). */
  private async checkWithLiveRequests(input: SubmitRequestInput, emergency: boolean) {
    const checked = { ...input, requesterGroupIds: await this.deps.directory.groupsOf(input.requesterId) };
    const normal = validateRequest(this.deps.policy, checked);
    const role = findRole(this.deps.policy, input.resourceId, input.roleId)?.role;
    const validation = emergency ? checkEmergencyRequest(normal, role ? { ...input, emergency: role.emergency } : null) : normal;
    if (!validation.ok) return { validation, live: [] };
    const live = await this.liveRequestsOf(input.requesterId, validation);
    return { validation: this.alreadyRequested(validation, live) ?? validation, live };
  }

  /** The refusal for a request of access this requester already holds or waits for, or null. A PENDING request past
   * requestTtl does not count: it is as good as timed out (submit closes it). */
  private alreadyRequested(validation: ValidRequest, live: LiveRequest[]): RejectedRequest | null {
    const blocking = live.find((request) => !(request.status === 'PENDING' && isStale(this.deps.policy, request)));
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
}
