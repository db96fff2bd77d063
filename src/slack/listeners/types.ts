import type { Logger } from 'pino';
import type { AccessService } from '../../services/access-service';
import type { SlackSurface } from '../surface';

/** What listeners get: the one service they call and the surface they render through. */
export interface ListenerDeps {
  service: AccessService;
  surface: SlackSurface;
  logger: Logger;
}
