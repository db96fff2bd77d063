import type { Db, RevokeAlert } from '../../db/prisma';
import type { RequestView } from '../../domain/request-view';
import type { EffectHandler } from '../../effects/effect-runner';
import type { EffectRow } from '../../effects/outbox';
import { buildRevokeAlert, duplicateAlertNotice } from '../blocks/revoke-alert';
import type { SlackSurface } from '../surface';

export interface RevokeAlertsDeps {
  db: Db;
  surface: SlackSurface;
  securityChannel: string | null;
  loadView(requestId: string): Promise<RequestView>;
  /** Grants whose revocation keeps failing right now (the alert says how many). */
  countFailing(): Promise<number>;
  /** An archived channel cannot take the alert (the security channel still does). */
  channelArchived(channelId: string): Promise<boolean>;
}

/** The failing-revocation alert: one message per grant and channel (the incident channel, the security channel),
 * posted where it is missing and brought up to date where it exists, so each channel says how things stand. */
export function revokeAlertHandlers(deps: RevokeAlertsDeps): Record<string, EffectHandler> {
  const { db, surface } = deps;

  async function update(effects: EffectRow[]): Promise<void> {
    const requestId = effects[0].requestId!;
    const view = await deps.loadView(requestId);
    const failingCount = await deps.countFailing();
    const posted = await db.revokeAlert.findMany({ where: { requestId } });
    for (const channelId of [view.channelId, deps.securityChannel].filter((channel): channel is string => channel !== null)) {
      if (channelId === view.channelId && (await deps.channelArchived(channelId))) continue;
      const existing: RevokeAlert | undefined = posted.find((alert) => alert.channelId === channelId);
      if (existing) {
        await surface.updateMessage(channelId, existing.messageTs, buildRevokeAlert(view, failingCount));
        continue;
      }
      if (view.status !== 'REVOKING') continue; // resolved before the alert went out: nothing to raise
      const { ts } = await surface.postMessage(channelId, buildRevokeAlert(view, failingCount));
      // Delivered twice (a crash between Slack's answer and this row): the unique (request, channel) row keeps one;
      // the other message says it is a duplicate rather than standing as a second live alert.
      const created = await db.revokeAlert.createMany({ data: [{ requestId, channelId, messageTs: ts }], skipDuplicates: true });
      if (created.count === 0) await surface.updateMessage(channelId, ts, duplicateAlertNotice());
    }
  }

  return { 'revoke.alert': { deliver: update, batch: 20 } };
}
