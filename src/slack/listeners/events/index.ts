import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../types';
import { appHomeOpened } from './app-home-opened';
import { channelArchived, channelUnarchived } from './channel-archived';

export function register(app: App, deps: ListenerDeps): void {
  app.event('app_home_opened', appHomeOpened(deps));
  // Public and private channels: the incident in the channel is over (grants that end with it end).
  app.event('channel_archive', channelArchived(deps));
  app.event('group_archive', channelArchived(deps));
  app.event('channel_unarchive', channelUnarchived(deps));
  app.event('group_unarchive', channelUnarchived(deps));
}
