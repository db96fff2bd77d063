import type { Db } from '../../db/prisma';
import type { AccessReport } from '../../domain/access-report';
import type { EffectHandler } from '../../effects/effect-runner';
import { RetryLater } from '../../effects/effect-errors';
import type { ComputedReport } from '../../reports/access-reports';
import { DIGEST_EFFECT, type DigestPayload } from '../../reports/report-digest';
import { buildAccessReport } from '../blocks/access-report';
import type { SlackSurface } from '../surface';
import { rethrowForRunner } from './slack-failure';

/** Deliveries that wait for the period's last events to be sealed before the digest goes out without them. */
const WAIT_FOR_SEALING_ATTEMPTS = 5;

/** Thread links of every request a report shows, from the workspace's permalinks (one auth.test, cached). */
export async function reportLinks(surface: Pick<SlackSurface, 'permalink'>, report: AccessReport): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const items = [...report.emergency, ...report.denied, ...report.timedOut, ...report.failedRevocations, ...report.longestGrants];
  for (const item of items) {
    if (links.has(item.requestId) || !item.channelId || !item.messageTs) continue;
    const link = await surface.permalink(item.channelId, item.messageTs).catch(() => null);
    if (link) links.set(item.requestId, link);
  }
  return links;
}

/** Posts a committed digest (see report-digest.ts): computed now, from the sealed events of its period. */
export function reportDigestHandlers(deps: {
  db: Db;
  surface: SlackSurface;
  compute(period: { since: Date; until: Date }): Promise<ComputedReport>;
  /** AUDIT_SEAL_BOUND: how long to wait for the period's last events to be sealed. */
  sealBoundMs: number;
}): Record<string, EffectHandler> {
  return {
    [DIGEST_EFFECT]: {
      deliver: async ([effect]) => {
        const payload = effect.payload as unknown as DigestPayload;
        const run = await deps.db.reportRun.findUnique({ where: { id: payload.runId } });
        if (!run || run.messageTs) return; // posted already (delivered again after a crash before the effect was settled)
        const { report, unsealed } = await deps.compute({ since: new Date(payload.since), until: new Date(payload.until) });
        if (unsealed > 0 && effect.attempts < WAIT_FOR_SEALING_ATTEMPTS) {
          throw new RetryLater(deps.sealBoundMs, `${unsealed} audit events of the period are not sealed yet`);
        }
        const message = buildAccessReport(report, { links: await reportLinks(deps.surface, report), unsealed, title: 'Access review digest' });
        let ts: string;
        try {
          ({ ts } = await deps.surface.postMessage(payload.channel, message));
        } catch (err) {
          rethrowForRunner(err, 'posting the review digest');
        }
        await deps.db.reportRun.updateMany({ where: { id: run.id, messageTs: null }, data: { messageTs: ts } });
      },
    },
  };
}
