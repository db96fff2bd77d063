import type { App } from '@slack/bolt';
import { EmergencyConfirmModal, ExtendModal, FlagModal, RequestModal } from '../../blocks/action-ids';
import { emergencyConfirmed } from './emergency-confirmed';
import { flagModalSubmitted } from './flag-modal-submitted';
import { extendModalSubmitted } from './extend-modal-submitted';
import type { ListenerDeps } from '../types';
import { requestModalSubmitted } from './request-modal-submitted';

export function register(app: App, deps: ListenerDeps): void {
  app.view(RequestModal.callbackId, requestModalSubmitted(deps));
  app.view(ExtendModal.callbackId, extendModalSubmitted(deps));
  app.view(EmergencyConfirmModal.callbackId, emergencyConfirmed(deps));
  app.view(FlagModal.callbackId, flagModalSubmitted(deps));
}
