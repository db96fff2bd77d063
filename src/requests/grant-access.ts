import type { AccessRequest } from '../db/prisma';
import type { RequestView } from '../domain/request-view';
import type { Credentials } from '../providers/types';
import { ProviderError } from '../providers/types';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import { findRole } from '../policy/policy-queries';
import { reminderTime } from '../domain/extension-rules';
import { underAccessLock } from './access-locks';
import { effectsFor, type EffectSubject } from './effect-plans';
import type { Housekeeping } from './housekeeping';
import { failureText, type RequestDeps } from './request-deps';
import { grantTarget } from './request-reads';
import { queueEffects } from './request-store';

/** Hands a temporary login to the requester alone (a DM). Throws when it cannot: the access is then taken back. */
export interface CredentialsCourier {
  deliver(view: RequestView, credentials: Credentials): Promise<void>;
}

type GrantOutcome = { granted: false } | { granted: true; credentials?: Credentials };

/**
 * The grant effect: runs from the outbox right after quorum. Under the access lock and the request's row lock, it
 * grants only if the request is still APPROVED and not yet due; ACTIVE is recorded in the same transaction, before
 * the locks are released. Whatever happened meanwhile (an expiry, a roll-back), nothing is granted for a request
 * that has ended, and a grant that could not be recorded is revoked on the spot.
 */
export class GrantAccess {
  constructor(
    private readonly deps: Pick<RequestDeps, 'db' | 'policy' | 'providers' | 'store' | 'reads' | 'expiry' | 'logger'> & {
      housekeeping: Housekeeping;
      credentials: CredentialsCourier;
    },
  ) {}

  async grant(requestId: string): Promise<void> {
    const { reads, housekeeping, logger } = this.deps;
    const request = await reads.findRequest(requestId);
    if (request?.status !== 'APPROVED' || !request.expiresAt) return;
    let outcome: GrantOutcome;
    try {
      // The expiry job first, so a grant is always followed by its revocation, even after a crash mid-grant.
      await this.deps.expiry.schedule(requestId, request.expiresAt);
    } catch (err) {
      logger.error({ err, requestId }, 'could not schedule the expiry job; not granting');
      await housekeeping.rollBack(requestId, ['APPROVED'], 'the expiry could not be scheduled (queue unavailable), so nothing was granted');
      return;
    }
    try {
      outcome = await this.grantUnderLock(request);
    } catch (err) {
      logger.warn({ err, requestId }, 'grant failed');
      await housekeeping.rollBack(requestId, ['APPROVED'], failureText(err));
      return;
    }
    if (!outcome.granted || !outcome.credentials) return;
    try {
      await this.deps.credentials.deliver(await reads.loadView(requestId), outcome.credentials);
    } catch (err) {
      logger.warn({ err: { message: (err as Error).message }, requestId }, 'could not deliver the temporary login');
      // Credentials nobody received are useless and must not linger.
      await housekeeping.rollBack(requestId, ['ACTIVE'], 'the temporary login could not be sent to the requester by direct message, so it was taken back');
      return;
    }
    await this.deps.store.transaction(async (tx) => queueEffects(tx, grantedNotices(request)));
  }

  private grantUnderLock(request: AccessRequest): Promise<GrantOutcome> {
    const { providers, store } = this.deps;
    const provider = providers.get(request.resourceId);
    const requestId = request.id;
    return underAccessLock(store.transaction.bind(store), request, provider, async (tx) => {
      // Re-read under the locks: this is the state the grant acts on, and nobody can change it until we commit.
      const [current] = await tx.$queryRaw<Array<{ status: string; expiresAt: Date | null }>>`
        SELECT status::text AS status, "expiresAt" FROM "AccessRequest" WHERE id = ${requestId}::uuid FOR NO KEY UPDATE`;
      if (current?.status !== 'APPROVED' || !current.expiresAt || current.expiresAt.getTime() <= Date.now()) {
        // Ended (or due) before its grant ran: nothing is granted; an expiry sweep closes a due one.
        this.deps.logger.warn({ requestId, status: current?.status }, 'request no longer waits for its grant; nothing granted');
        return { granted: false };
      }
      const target = { ...grantTarget(request), expiresAt: current.expiresAt };
      const { credentials } = await provider.grant(target);
      if (!(await provider.verify(target))) throw new ProviderError('the grant did not show up on the target when checked');
      const grantedAt = new Date();
      const moved = await store.moveIn(tx, {
        requestId,
        from: ['APPROVED'],
        to: 'ACTIVE',
        data: { grantedAt },
        actor: SYSTEM_ACTOR,
        action: 'GRANTED',
        details: {
          login: request.requesterLogin,
          grant: request.grantName,
          expiresAt: current.expiresAt.toISOString(),
          // Whether credentials were handed out, never what they are.
          ...(credentials ? { temporaryLogin: credentials.username } : {}),
        },
        // With a temporary login, "granted" is told only once the login reached the requester (see grant()): until
        // then the access may still be taken back.
        effects: (r) => [effectsFor.refresh(r), effectsFor.home(r), ...(credentials ? [] : grantedNotices(r)), ...this.reminder(request, grantedAt, current.expiresAt!)],
      });
      if (!moved) {
        // Cannot happen while we hold the row lock; should it ever, the access must not stay: take it back now.
        await provider.revoke(target);
        await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'LATE_GRANT_REVOKED', details: { login: request.requesterLogin, grant: request.grantName } });
        return { granted: false };
      }
      const made = providers.fingerprint(request.resourceId);
      await tx.grant.create({
        data: {
          requestId,
          // Which configuration made it, so a start-up under a changed provider can say so (src/requests/provider-changes.ts).
          providerFingerprint: made?.fingerprint ?? null,
          providerDescription: made?.description ?? null,
          resourceId: request.resourceId,
          roleId: request.roleId,
          login: credentials?.username ?? request.requesterLogin,
          grantedAt,
          expiresAt: current.expiresAt,
        },
      });
      return { granted: true, credentials };
    });
  }

  /** The "ends soon" reminder's job, when the role has one and there is time for it. */
  private reminder(request: AccessRequest, since: Date, expiresAt: Date) {
    const rule = findRole(this.deps.policy, request.resourceId, request.roleId);
    const at = rule ? reminderTime(since, expiresAt, rule.role.remindBeforeSeconds) : null;
    return at ? [effectsFor.scheduleReminder(request, at, expiresAt)] : [];
  }
}

/** The thread and the requester hear that the access is there. */
function grantedNotices(request: EffectSubject) {
  return [effectsFor.thread(request, { notice: 'granted' }), effectsFor.directMessage(request, { message: 'granted' })];
}
