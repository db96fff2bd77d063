import type { Logger } from 'pino';
import type { AccessReports } from '../../reports/access-reports';
import type { AccessService } from '../../services/access-service';
import type { HomePublisher } from '../../services/home-publisher';
import type { RequestQueries } from '../../services/request-queries';
import type { FollowUpGate } from '../follow-up-gate';
import type { SlackSurface } from '../surface';

/** What listeners get: the services they call and the surface they render through. */
export interface ListenerDeps {
  service: AccessService;
  /** The read side: lookups by human id, lists, timelines (commands, App Home). */
  queries: RequestQueries;
  /** Publishes App Home tabs, and answers clicks made there. */
  homes: HomePublisher;
  surface: SlackSurface;
  /** The review reports (`/breakglass report`), for admins and emergency reviewers. */
  reports: Pick<AccessReports, 'forPerson'>;
  /** Every listener's work after its ack runs through this, except opening or updating a modal (its trigger_id lasts
   * 3 s): a burst of follow-ups must not delay the acks of the clicks still arriving. */
  followUps: FollowUpGate;
  logger: Logger;
}
