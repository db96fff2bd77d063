import type { Logger } from 'pino';
import { onCallAt, pagerDutyScheduleId, rotationName, type OnCallNow } from '../domain/on-call';
import type { Policy } from '../policy/types';
import type { SlackSurface } from '../slack/surface';
import type { PagerDutyClient } from './pagerduty';

/** How long who is on call for a PagerDuty schedule is reused: a handover is noticed within a minute, and a burst of
 * clicks or App Home refreshes makes one PagerDuty call, not one each. */
export const ON_CALL_CACHE_MS = 60_000;
/** How long "PagerDuty cannot be reached" is reused: while it is down, one time-out every 10 s rather than one per
 * click; a PagerDuty back up is noticed within 10 s. */
export const ON_CALL_FAILURE_CACHE_MS = 10_000;

interface Cached {
  answer: OnCallNow;
  until: number;
}

/** Who is on call now for an on-call principal: `schedule:<name>` from the policy's rotation (computed, no call),
 * `pagerduty:<ID>` from PagerDuty (GET /oncalls) with each e-mail address turned into a Slack user
 * (users.lookupByEmail). Never throws: PagerDuty failing gives `unreachable`. Never called inside a transaction. */
export class OnCallDirectory {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<OnCallNow>>();

  constructor(
    private readonly deps: {
      policy: Policy;
      /** Null without PAGERDUTY_TOKEN (the policy check then refuses pagerduty: principals). */
      pagerDuty: PagerDutyClient | null;
      surface: Pick<SlackSurface, 'lookupUserByEmail'>;
      logger: Logger;
      /** The time rotations are read at; tests move it. */
      now?: () => Date;
      /** How long answers are reused (success, failure); tests shorten them. */
      cacheMs?: { found: number; unreachable: number };
    },
  ) {}

  /** Each principal's people on call now, in the order given. */
  all(principals: readonly string[]): Promise<OnCallNow[]> {
    return Promise.all(principals.map((principal) => this.now(principal)));
  }

  async now(principal: string): Promise<OnCallNow> {
    const name = rotationName(principal);
    if (name !== null) {
      const rotation = this.deps.policy.schedules?.get(name);
      const person = rotation ? onCallAt(rotation, this.deps.now?.() ?? new Date()) : null;
      return { principal, userIds: person ? [person] : [] };
    }
    const cached = this.cache.get(principal);
    if (cached && Date.now() < cached.until) return cached.answer;
    const pending = this.inFlight.get(principal);
    if (pending) return pending;
    const lookup = this.lookUp(principal).finally(() => this.inFlight.delete(principal));
    this.inFlight.set(principal, lookup);
    return lookup;
  }

  private async lookUp(principal: string): Promise<OnCallNow> {
    const scheduleId = pagerDutyScheduleId(principal);
    const { pagerDuty, logger } = this.deps;
    if (scheduleId === null || !pagerDuty) return { principal, unreachable: true };
    let answer: OnCallNow;
    try {
      const emails = await pagerDuty.onCallEmails(scheduleId);
      const userIds = await Promise.all(emails.map((email) => this.slackUserOf(email, scheduleId)));
      answer = { principal, userIds: [...new Set(userIds.filter((id): id is string => id !== null))] };
    } catch (err) {
      logger.warn({ scheduleId, reason: err instanceof Error ? err.message : String(err) }, 'PagerDuty on-call look-up failed');
      answer = { principal, unreachable: true };
    }
    const { found, unreachable } = this.deps.cacheMs ?? { found: ON_CALL_CACHE_MS, unreachable: ON_CALL_FAILURE_CACHE_MS };
    this.cache.set(principal, { answer, until: Date.now() + ('unreachable' in answer ? unreachable : found) });
    return answer;
  }

  /** The Slack account with this e-mail address; null (and a warning) when there is none or Slack cannot say. */
  private async slackUserOf(email: string, scheduleId: string): Promise<string | null> {
    try {
      const userId = await this.deps.surface.lookupUserByEmail(email);
      if (!userId) this.deps.logger.warn({ scheduleId }, 'someone on call in PagerDuty has no Slack account with the same e-mail address');
      return userId;
    } catch (err) {
      this.deps.logger.warn({ scheduleId, err }, 'users.lookupByEmail failed for someone on call');
      return null;
    }
  }
}
