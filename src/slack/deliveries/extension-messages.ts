import type { ExtensionView } from '../../domain/extension-view';
import type { RequestView } from '../../domain/request-view';
import type { EffectHandler } from '../../effects/effect-runner';
import type { EffectRow } from '../../effects/outbox';
import { buildExtensionMessage } from '../blocks/extension';
import type { SlackSurface } from '../surface';
import { isPermanentSlackError, rethrowForRunner } from './slack-failure';

export interface ExtensionMessagesDeps {
  surface: SlackSurface;
  loadView(requestId: string): Promise<RequestView>;
  loadExtension(extensionId: string): Promise<ExtensionView | null>;
  recordExtensionTs(extensionId: string, ts: string): Promise<void>;
  /** The extension's message was refused for good: nobody could act on it, so it is closed. */
  extensionPostFailed(extensionId: string): Promise<void>;
}

/** An extension asked for in the request's thread (with Approve / Deny), and its message kept current. */
export function extensionMessageHandlers(deps: ExtensionMessagesDeps): Record<string, EffectHandler> {
  const { surface } = deps;

  async function post([effect]: EffectRow[]): Promise<void> {
    const extension = await deps.loadExtension(String(effect.payload.extensionId));
    if (!extension || extension.messageTs || extension.status !== 'PENDING') return;
    const view = await deps.loadView(extension.requestId);
    try {
      if (!view.messageTs) throw new Error('the request has no approval message to reply to');
      const { ts } = await surface.postMessage(view.channelId, buildExtensionMessage(view, extension), view.messageTs);
      await deps.recordExtensionTs(extension.id, ts);
    } catch (err) {
      if (view.messageTs && !isPermanentSlackError(err)) throw err;
      await deps.extensionPostFailed(extension.id);
      rethrowForRunner(err, 'posting the extension request');
    }
  }

  async function refresh(effects: EffectRow[]): Promise<void> {
    const extension = await deps.loadExtension(String(effects[0].payload.extensionId));
    if (!extension?.messageTs) return; // not posted (yet): its post renders it as it is then
    const view = await deps.loadView(extension.requestId);
    try {
      await surface.updateMessage(view.channelId, extension.messageTs, buildExtensionMessage(view, extension));
    } catch (err) {
      rethrowForRunner(err, 'updating the extension message');
    }
  }

  return { 'extension.post': { deliver: post }, 'extension.refresh': { deliver: refresh, batch: 20 } };
}
