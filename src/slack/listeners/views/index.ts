import type { App } from '@slack/bolt';
import { RequestModal } from '../../blocks/action-ids';
import type { ListenerDeps } from '../types';
import { requestModalSubmitted } from './request-modal-submitted';

export function register(app: App, deps: ListenerDeps): void {
  app.view(RequestModal.callbackId, requestModalSubmitted(deps));
}
