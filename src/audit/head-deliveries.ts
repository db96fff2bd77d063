import { appendFile } from 'node:fs/promises';
import type { EffectHandler } from '../effects/effect-runner';
import type { SlackSurface } from '../slack/surface';
import { publishedHeadText } from './sealer';

export interface AuditHeadDeliveriesDeps {
  surface: SlackSurface;
  /** alerts.securityChannel */
  securityChannel: string | null;
  /** audit.publishHead: a file the published heads are appended to, one JSON line each. */
  headFile: string | null;
}

const plain = (text: string) => ({ text, blocks: [{ type: 'section' as const, text: { type: 'plain_text' as const, text } }] });

/** Delivers the sealer's effects: a published head (Slack post or a line in the file) and the late-sealing alert. */
export function auditHeadHandlers(deps: AuditHeadDeliveriesDeps): Record<string, EffectHandler> {
  return {
    'audit.head': {
      deliver: async ([effect]) => {
        const { seq, hash, at, target } = effect.payload as { seq: number; hash: string; at: string; target: 'slack' | 'file' };
        if (target === 'file') {
          if (deps.headFile) await appendFile(deps.headFile, `${JSON.stringify({ seq, hash, at })}\n`, { mode: 0o640 });
          return;
        }
        if (deps.securityChannel) await deps.surface.postMessage(deps.securityChannel, plain(publishedHeadText({ seq, hash }, new Date(at))));
      },
    },
    'audit.seal_late': {
      deliver: async ([effect]) => {
        const { eventId, ageMs, boundMs } = effect.payload as { eventId: string; ageMs: number; boundMs: number };
        if (!deps.securityChannel) return;
        const text = `Audit events are waiting to be sealed: event id ${eventId} waited ${(ageMs / 1000).toFixed(1)} s, longer than the bound of ${(boundMs / 1000).toFixed(1)} s (AUDIT_SEAL_BOUND). Check the bot's logs ("audit sealer") and breakglass_audit_oldest_unsealed_seconds.`;
        await deps.surface.postMessage(deps.securityChannel, plain(text));
      },
    },
  };
}
