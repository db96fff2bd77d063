import type { Logger } from 'pino';
import type { AccessService } from '../../services/access-service';
import type { HomePublisher } from '../../services/home-publisher';
import type { RequestQueries } from '../../services/request-queries';
import type { SlackSurface } from '../surface';

/** What listeners get: the services they call and the surface they render through. */
export interface ListenerDeps {
  service: AccessService;
  /** The read side: lookups by human id, lists, timelines (commands, App Home). */
  queries: RequestQueries;
  /** Publishes App Home tabs, and answers clicks made there. */
  homes: HomePublisher;
  surface: SlackSurface;
  logger: Logger;
}
