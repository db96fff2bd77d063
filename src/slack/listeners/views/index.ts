import type { App } from '@slack/bolt';
import { ExtendModal, RequestModal } from '../../blocks/action-ids';
import { extendModalSubmitted } from './extend-modal-submitted';
import type { ListenerDeps } from '../types';
import { requestModalSubmitted } from './request-modal-submitted';

export function register(app: App, deps: ListenerDeps): void {
  app.view(RequestModal.callbackId, requestModalSubmitted(deps));
  app.view(ExtendModal.callbackId, extendModalSubmitted(deps));
}
