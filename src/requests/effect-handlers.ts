import type { Logger } from 'pino';
import type { Db } from '../db/prisma';
import type { EffectHandler } from '../effects/effect-runner';
import type { EffectRow } from '../effects/outbox';
import type { ProviderRegistry } from '../providers/provider-registry';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import type { EmergencyReviews } from './emergency-review';
import type { GrantAccess } from './grant-access';
import { endedNotices } from './effect-plans';
import { failureText, type ExpiryScheduler } from './request-deps';
import { grantTarget } from './request-reads';
import { queueEffects, type RequestStore } from './request-store';

/** Where "your access ends soon" reminders wait (BullMQ). */
export interface ReminderScheduler {
  schedule(requestId: string, at: Date, expiresAt: Date): Promise<void>;
}

/** Work on the targets, delivered from the outbox: never behind a Slack call. */
export function providerEffectHandlers(deps: { db: Db; providers: ProviderRegistry; grants: GrantAccess; logger: Logger }): Record<string, EffectHandler> {
  /** The target's own expiry (e.g. VALID UNTIL) follows an extension. Best effort: access stays until our own
   * revocation, which runs at the new time anyway; only the target's second line of defence keeps the old time. */
  async function extendOnTarget([effect]: EffectRow[]): Promise<void> {
    const requestId = effect.requestId!;
    const expiresAt = new Date(String(effect.payload.expiresAt));
    const request = await deps.db.accessRequest.findUnique({ where: { id: requestId } });
    if (request?.status !== 'ACTIVE' || request.expiresAt?.getTime() !== expiresAt.getTime()) return; // moved on meanwhile
    try {
      await deps.providers.get(request.resourceId).extend({ ...grantTarget(request), expiresAt });
    } catch (err) {
      deps.logger.warn({ err, requestId }, 'the target did not take the new expiry');
      await deps.db.$transaction((tx) =>
        recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'EXTEND_ON_TARGET_FAILED', details: { error: failureText(err, { forAudit: true }) } }),
      );
    }
  }

  return {
    'access.grant': { deliver: ([effect]) => deps.grants.grant(effect.requestId!) },
    'access.extend': { deliver: extendOnTarget },
  };
}

/** The alarm clocks (BullMQ), set from the outbox; a Redis outage delays them, the reconciler catches up too. */
export function jobEffectHandlers(deps: { expiry: ExpiryScheduler; reminders: ReminderScheduler }): Record<string, EffectHandler> {
  return {
    'expiry.schedule': { deliver: ([effect]) => deps.expiry.schedule(effect.requestId!, new Date(String(effect.payload.at))) },
    'reminder.schedule': {
      deliver: ([effect]) => deps.reminders.schedule(effect.requestId!, new Date(String(effect.payload.at)), new Date(String(effect.payload.expiresAt))),
    },
  };
}

/** The emergency reviews' overdue alarms (see EmergencyReviews.overdue): due in the outbox, not in Redis. */
export function emergencyEffectHandlers(deps: { reviews: Pick<EmergencyReviews, 'overdue'> }): Record<string, EffectHandler> {
  return {
    'emergency.overdue': {
      deliver: async ([effect]) => {
        await deps.reviews.overdue(effect.requestId!, Number(effect.payload.notice));
      },
    },
  };
}

/** Requests whose access ended become their messages (endedNotices), a batch per transaction. Delivered twice (a
 * crash between the write and the record), a request's summary is posted twice: at least once, never lost. */
export function endedEffectHandlers(deps: { db: Db; store: RequestStore }): Record<string, EffectHandler> {
  async function fanOut(effects: EffectRow[]): Promise<void> {
    const ids = effects.map((effect) => effect.requestId).filter((id): id is string => id !== null);
    const requests = new Map(
      (await deps.db.accessRequest.findMany({ where: { id: { in: ids } }, select: { id: true, channelId: true, requesterId: true } })).map((r) => [r.id, r]),
    );
    await deps.store.transaction(async (tx) =>
      queueEffects(
        tx,
        effects.flatMap((effect) => {
          const request = effect.requestId ? requests.get(effect.requestId) : undefined;
          const channelSummary = effect.payload.grantFailed !== true && effect.payload.summaryWritten !== true;
          return request ? endedNotices(request, { channelSummary }) : [];
        }),
      ),
    );
  }
  return { 'request.ended': { deliver: fanOut, batch: 500 } };
}
