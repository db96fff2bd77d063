import type { Logger } from 'pino';
import { Limiter } from '../concurrency/limiter';
import type { RequestAccessFacts } from '../domain/visibility';
import { buildAppHome, HOME_LIMITS } from '../slack/blocks/app-home';
import type { SlackSurface } from '../slack/surface';
import type { RequestQueries } from './request-queries';

/** Home publishes share the database pool with revocations; only this many run at once, however many changes pile up
 * (10,000 grants expiring together must not starve their own revocations). */
const MAX_CONCURRENT_PUBLISHES = 2;

/** Keeps App Home tabs current. Each publish re-reads the database, so publishes for one user are coalesced: while
 * one runs, any number of further changes cause exactly one more. Failures are logged and never thrown: a Home
 * that is a little stale must never break a click, an ack or a revocation. */
export class HomePublisher {
  /** The publish running for a user, which also covers changes that arrive meanwhile (see `stale`). */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Users whose Home changed after their running publish read the database. */
  private readonly stale = new Set<string>();
  /** The answer to a user's last click in the Home tab (which has no channel for an ephemeral); shown at the top
   * until they next open the tab. */
  private readonly notices = new Map<string, string>();
  /** Users waiting for their Home right now (they opened it or clicked in it): served before background refreshes. */
  private readonly urgent = new Set<string>();
  /** Publish slots: a user waiting for their Home goes before background refreshes. */
  private readonly slots = new Limiter(MAX_CONCURRENT_PUBLISHES);

  constructor(
    private readonly deps: {
      queries: RequestQueries;
      surface: Pick<SlackSurface, 'publishHome'>;
      logger: Logger;
      now?: () => Date;
    },
  ) {}

  /** The user opened the Home tab: a fresh Home, without an old notice. */
  opened(userId: string): Promise<void> {
    this.notices.delete(userId);
    this.urgent.add(userId);
    return this.refresh(userId);
  }

  /** Answers a click made in the Home tab by republishing it with `notice` at the top. */
  notify(userId: string, notice: string): Promise<void> {
    this.notices.set(userId, notice);
    this.urgent.add(userId);
    return this.refresh(userId);
  }

  /** A request changed: republish the Home of everyone it concerns (requester, approvers, admins). */
  async requestChanged(request: RequestAccessFacts): Promise<void> {
    let audience: string[];
    try {
      audience = await this.deps.queries.audienceOf(request);
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not work out whose App Home to refresh');
      return;
    }
    await Promise.all(audience.map((userId) => this.refresh(userId)));
  }

  /** Resolves once the user's Home reflects everything that happened before the call. */
  refresh(userId: string): Promise<void> {
    const running = this.inFlight.get(userId);
    if (running) {
      this.stale.add(userId);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.stale.delete(userId);
          await this.publish(userId);
        } while (this.stale.has(userId));
      } finally {
        // In the same step as the last check above, so no change can slip in between.
        this.inFlight.delete(userId);
      }
    })();
    this.inFlight.set(userId, run);
    return run;
  }

  private async publish(userId: string): Promise<void> {
    const release = await this.slots.acquire({ urgent: this.urgent.delete(userId) });
    try {
      const content = await this.deps.queries.homeFor(userId, HOME_LIMITS);
      const view = buildAppHome(content, { now: this.deps.now?.() ?? new Date(), notice: this.notices.get(userId) });
      await this.deps.surface.publishHome(userId, view);
    } catch (err) {
      this.deps.logger.warn({ err, userId }, 'could not publish the App Home');
    } finally {
      release();
    }
  }
}
