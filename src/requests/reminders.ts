import { reminderTime } from '../domain/extension-rules';
import { findRole } from '../policy/policy-queries';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import { queueEffects } from './request-store';
import { effectsFor } from './effect-plans';
import type { RequestDeps } from './request-deps';

/** "Your access ends soon": recorded once per expiry, delivered as a DM effect with Extend and I'm done. */
export class Reminders {
  constructor(private readonly deps: Pick<RequestDeps, 'db' | 'policy' | 'store'>) {}

  /** The reminder job: only for the expiry it was scheduled for (an extension schedules a new one) and only once
   * (the conditional update). */
  async send(requestId: string, forExpiresAt: Date): Promise<boolean> {
    const now = new Date();
    return this.deps.store.transaction(async (tx) => {
      const [marked] = await tx.accessRequest.updateManyAndReturn({
        where: { id: requestId, status: 'ACTIVE', expiresAt: forExpiresAt, reminderSentAt: null },
        data: { reminderSentAt: now },
        select: { id: true, channelId: true, requesterId: true },
      });
      if (!marked) return false;
      await recordAudit(tx, { requestId, actor: SYSTEM_ACTOR, action: 'REMINDER_SENT', details: { expiresAt: forExpiresAt.toISOString() } });
      queueEffects(tx, [effectsFor.directMessage(marked, { message: 'reminder' })]);
      return true;
    });
  }

  /** Reminders whose job was lost (Redis flushed) and are now due. Returns how many were sent. For the reconciler. */
  async sendDue(now = new Date()): Promise<number> {
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
      if (due && due.getTime() <= now.getTime() && (await this.send(candidate.id, candidate.expiresAt))) sent++;
    }
    return sent;
  }
}
