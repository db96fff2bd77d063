import { buildIncidentClosePreview } from '../../blocks/incident-close';
import type { SlackMessage } from '../../surface';
import type { ListenerDeps } from '../types';

/** `/breakglass incident close`: what it would end in this channel, with a Confirm button; nothing changes yet. */
export async function answerIncidentClose({ service }: ListenerDeps, userId: string, channelId: string): Promise<SlackMessage | string> {
  const preview = await service.previewIncidentClose(channelId, userId);
  return preview.ok ? buildIncidentClosePreview(preview.plan, preview.at) : `:warning: ${preview.message}`;
}
