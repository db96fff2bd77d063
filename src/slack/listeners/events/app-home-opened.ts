import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../types';

/** Opening the Home tab publishes it fresh from the database (Bolt has already acked the event). */
export function appHomeOpened({ homes }: ListenerDeps) {
  return async ({ event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs): Promise<void> => {
    // The Messages tab sends this event too; only the Home tab is ours to draw.
    if (event.tab !== 'home') return;
    await homes.opened(event.user);
  };
}
