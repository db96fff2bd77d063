import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../types';
import { BREAKGLASS_COMMAND, breakglassCommand } from './breakglass-command';

export function register(app: App, deps: ListenerDeps): void {
  app.command(BREAKGLASS_COMMAND, breakglassCommand(deps));
}
