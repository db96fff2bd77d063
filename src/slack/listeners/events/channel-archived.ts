import type { SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types';

/** A channel was archived (channel_archive, group_archive; Bolt has already acked the event): the incident there is
 * closed, and the grants tied to it end. Slack may deliver the event again; the use case is idempotent. */
export function channelArchived({ service, followUps }: ListenerDeps) {
  return async ({ event }: SlackEventMiddlewareArgs<'channel_archive' | 'group_archive'>): Promise<void> => {
    const archivedBy = typeof event.user === 'string' && event.user !== '' ? event.user : null;
    await followUps.run(() => service.channelArchived(event.channel, archivedBy));
  };
}

/** A channel was unarchived (channel_unarchive, group_unarchive): its messages may go to it again. */
export function channelUnarchived({ service, followUps }: ListenerDeps) {
  return async ({ event }: SlackEventMiddlewareArgs<'channel_unarchive' | 'group_unarchive'>): Promise<void> => {
    const user = (event as { user?: unknown }).user;
    const unarchivedBy = typeof user === 'string' && user !== '' ? user : null;
    await followUps.run(() => service.channelUnarchived(event.channel, unarchivedBy));
  };
}
