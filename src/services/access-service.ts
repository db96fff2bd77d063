import { CloseIncident } from '../requests/close-incident';
import { DecideRequest } from '../requests/decide-request';
import type { EmergencyConfirmation, EmergencyRequestInput, EmergencyVia } from '../domain/emergency-rules';
import type { RejectedRequest } from '../domain/request-rules';
import { alertChannels, EscalateRequest } from '../requests/emergency-access';
import { EmergencyReviews } from '../requests/emergency-review';
import { EndAccess } from '../requests/end-access';
import { Extensions } from '../requests/extensions';
import { GrantAccess, type CredentialsCourier } from '../requests/grant-access';
import { Housekeeping } from '../requests/housekeeping';
import { Reminders } from '../requests/reminders';
import type { RequestDeps } from '../requests/request-deps';
import { SubmitRequest, type SubmitRequestInput } from '../requests/submit-request';

export type { Outcome } from '../domain/outcome';
export type { ExpiryScheduler } from '../requests/request-deps';
export { RevocationFailedError } from '../requests/end-access';
export type { SubmitRequestInput };

/**
 * The entry point the listeners and jobs call: one method per thing people or timers do, each handed to its use
 * case (src/requests/). The use cases change state only through the RequestStore, which commits every change with
 * its effects; the effect runners carry those out.
 */
export class AccessService {
  readonly submit: SubmitRequest;
  readonly decide: DecideRequest;
  readonly grants: GrantAccess;
  readonly ending: EndAccess;
  readonly extensions: Extensions;
  readonly reminders: Reminders;
  readonly housekeeping: Housekeeping;
  readonly incidents: CloseIncident;
  readonly escalation: EscalateRequest;
  readonly reviews: EmergencyReviews;

  constructor(private readonly deps: RequestDeps & { credentials: CredentialsCourier; expiryConcurrency?: number }) {
    this.housekeeping = new Housekeeping(deps);
    this.submit = new SubmitRequest({ ...deps, housekeeping: this.housekeeping });
    this.decide = new DecideRequest({ ...deps, housekeeping: this.housekeeping });
    this.grants = new GrantAccess({ ...deps, housekeeping: this.housekeeping });
    this.ending = new EndAccess(deps);
    this.extensions = new Extensions(deps);
    this.reminders = new Reminders(deps);
    this.incidents = new CloseIncident({ ...deps, ending: this.ending });
    this.escalation = new EscalateRequest({ ...deps, housekeeping: this.housekeeping });
    this.reviews = new EmergencyReviews(deps);
  }

  requestableFor(userId: string, channelId?: string) {
    return this.submit.requestableFor(userId, channelId);
  }
  requestForm(userId: string, channelId: string) {
    return this.submit.formFor(userId, channelId);
  }
  checkRequest(input: SubmitRequestInput) {
    return this.submit.check(input);
  }
  submitRequest(input: SubmitRequestInput) {
    return this.submit.submit(input);
  }
  checkEmergency(input: SubmitRequestInput) {
    return this.submit.check(input, { emergency: true });
  }
  /** Checks emergency access as asked for (command or form) and says what will happen, for the requester to confirm;
   * records nothing. */
  async prepareEmergency(requesterId: string, request: EmergencyRequestInput): Promise<{ ok: true; confirmation: EmergencyConfirmation } | RejectedRequest> {
    const check = await this.submit.check({ ...request, requesterId }, { emergency: true });
    if (!check.ok) return check;
    const emergency = check.role.emergency!;
    return {
      ok: true,
      confirmation: {
        request,
        durationSeconds: check.durationSeconds,
        reviewers: emergency.reviewers,
        alertChannels: alertChannels(this.deps.policy, emergency),
        reviewWithinSeconds: emergency.reviewWithinSeconds,
      },
    };
  }
  /** Emergency access at once, without approval (roles that allow it), reviewed afterwards. */
  requestEmergency(input: SubmitRequestInput, via: Exclude<EmergencyVia, 'escalation'>) {
    return this.submit.submit(input, { emergency: via });
  }
  /** "Break glass now" on a waiting request, by its requester. */
  breakGlassNow(requestId: string, actorId: string) {
    return this.escalation.escalate(requestId, actorId);
  }
  mayReviewEmergency(requestId: string, actorId: string) {
    return this.reviews.mayReview(requestId, actorId);
  }
  justifyEmergency(requestId: string, actorId: string) {
    return this.reviews.justify(requestId, actorId);
  }
  flagEmergency(requestId: string, actorId: string, reason: string) {
    return this.reviews.flag(requestId, actorId, reason);
  }
  approve(requestId: string, actorId: string) {
    return this.decide.approve(requestId, actorId);
  }
  deny(requestId: string, actorId: string) {
    return this.decide.deny(requestId, actorId);
  }
  revokeNow(requestId: string, actorId: string) {
    return this.ending.revokeNow(requestId, actorId);
  }
  retryRevocation(requestId: string, actorId: string) {
    return this.ending.retryRevocation(requestId, actorId);
  }
  processExpiry(requestId: string, now?: Date) {
    return this.ending.processExpiry(requestId, now);
  }
  stopSweeping(graceMs: number) {
    return this.ending.stopSweeping(graceMs);
  }
  extend(requestId: string, actorId: string, expiresAt: Date) {
    return this.extensions.extend(requestId, actorId, expiresAt);
  }
  extensionOptions(requestId: string, actorId: string) {
    return this.extensions.options(requestId, actorId);
  }
  checkExtension(requestId: string, actorId: string, durationText: string) {
    return this.extensions.check(requestId, actorId, durationText);
  }
  requestExtension(requestId: string, actorId: string, durationText: string) {
    return this.extensions.request(requestId, actorId, durationText);
  }
  previewIncidentClose(channelId: string, actorId: string) {
    return this.incidents.preview(channelId, actorId);
  }
  closeIncident(channelId: string, actorId: string, listedAt: Date) {
    return this.incidents.closeByCommand(channelId, actorId, listedAt);
  }
  channelArchived(channelId: string, archivedBy: string | null) {
    return this.incidents.channelArchived(channelId, archivedBy);
  }
  channelUnarchived(channelId: string, unarchivedBy: string | null) {
    return this.incidents.channelUnarchived(channelId, unarchivedBy);
  }
  approveExtension(extensionId: string, actorId: string) {
    return this.extensions.approve(extensionId, actorId);
  }
  denyExtension(extensionId: string, actorId: string) {
    return this.extensions.deny(extensionId, actorId);
  }
  sendReminder(requestId: string, forExpiresAt: Date) {
    return this.reminders.send(requestId, forExpiresAt);
  }
  sendDueReminders(now?: Date) {
    return this.reminders.sendDue(now);
  }
  timeOutStaleRequests(now?: Date) {
    return this.housekeeping.timeOutStaleRequests(now);
  }
  failInterruptedGrants(now?: Date) {
    return this.housekeeping.failInterruptedGrants(now);
  }
  requestsNeedingExpiryJobs() {
    return this.housekeeping.requestsNeedingExpiryJobs();
  }
  loadView(requestId: string) {
    return this.deps.reads.loadView(requestId);
  }

  /** Grants whose revocation keeps failing, right now. */
  countFailingRevocations(): Promise<number> {
    return this.deps.db.accessRequest.count({ where: { status: 'REVOKING', revokeFailingSince: { not: null } } });
  }
}
