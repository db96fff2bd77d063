import type { App, BlockAction, ButtonAction, StaticSelectAction } from '@slack/bolt';
import { ActionIds } from '../../blocks/action-ids';
import type { ListenerDeps } from '../types';
import { approveExtension } from './approve-extension';
import { approveRequest } from './approve-request';
import { confirmIncidentClose } from './confirm-incident-close';
import { denyExtension } from './deny-extension';
import { breakGlassNow, emergencyFlag, emergencyJustified } from './emergency-actions';
import { denyRequest } from './deny-request';
import { extendAccess } from './extend-access';
import { finishAccess } from './finish-access';
import { modalResourceSelected } from './modal-resource-selected';
import { retryRevocation } from './retry-revocation';
import { revokeRequest } from './revoke-request';

export function register(app: App, deps: ListenerDeps): void {
  app.action<BlockAction<ButtonAction>>(ActionIds.approve, approveRequest(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.deny, denyRequest(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.revokeNow, revokeRequest(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.retryRevoke, retryRevocation(deps));
  app.action<BlockAction<StaticSelectAction>>(ActionIds.modalResource, modalResourceSelected(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.extendAccess, extendAccess(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.finishAccess, finishAccess(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.approveExtension, approveExtension(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.denyExtension, denyExtension(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.confirmIncidentClose, confirmIncidentClose(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.breakGlassNow, breakGlassNow(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.emergencyJustified, emergencyJustified(deps));
  app.action<BlockAction<ButtonAction>>(ActionIds.emergencyFlag, emergencyFlag(deps));
}
