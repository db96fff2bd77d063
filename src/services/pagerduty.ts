/** The two PagerDuty REST API calls the bot makes, read-only: who is on call for a schedule now, and whether a
 * schedule exists (start-up check). The token travels in the Authorization header only; it is never logged. */

/** PagerDuty did not give an answer: network error, time-out, 429, 5xx, or a refused token (401/403). */
export class PagerDutyUnreachable extends Error {
  override readonly name = 'PagerDutyUnreachable';
}

export interface PagerDutySettings {
  token: string;
  /** Base URL, e.g. https://api.pagerduty.com (tests: the fake PagerDuty). */
  apiUrl: string;
  /** One request's limit; someone is often waiting on the answer (a click). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 3_000;
/** One page is plenty: with `earliest=true` a schedule has one entry per escalation policy and level using it. */
const PAGE_LIMIT = 100;

interface OnCallEntry {
  user?: { id?: string; email?: string; summary?: string };
  schedule?: { id?: string } | null;
}

export class PagerDutyClient {
  private readonly baseUrl: string;

  constructor(private readonly settings: PagerDutySettings) {
    this.baseUrl = settings.apiUrl.replace(/\/+$/, '');
  }

  /** The e-mail addresses of whoever is on call for the schedule now (GET /oncalls, users included), without
   * duplicates. A schedule that no escalation policy uses has no on-calls in PagerDuty's API, so nobody. */
  async onCallEmails(scheduleId: string): Promise<string[]> {
    const query = new URLSearchParams([
      ['schedule_ids[]', scheduleId],
      ['include[]', 'users'],
      ['earliest', 'true'],
      ['time_zone', 'UTC'],
      ['limit', String(PAGE_LIMIT)],
    ]);
    const response = await this.get(`/oncalls?${query}`);
    if (!response.ok) {
      await response.body?.cancel();
      throw new PagerDutyUnreachable(`PagerDuty answered ${response.status} to GET /oncalls`);
    }
    const body = (await response.json().catch(() => null)) as { oncalls?: OnCallEntry[] } | null;
    if (!body || !Array.isArray(body.oncalls)) throw new PagerDutyUnreachable('PagerDuty answered GET /oncalls without an oncalls list');
    const emails = body.oncalls
      // Entries of escalation rules that target people directly have no schedule: they are not this schedule's.
      .filter((entry) => entry.schedule?.id === scheduleId)
      .map((entry) => entry.user?.email?.trim().toLowerCase())
      .filter((email): email is string => Boolean(email));
    return [...new Set(emails)];
  }

  /** Whether GET /schedules/{id} finds the schedule: 'missing' on 404, 'unreachable' when PagerDuty gives no answer. */
  async scheduleStatus(scheduleId: string): Promise<'found' | 'missing' | 'unreachable' | 'refused'> {
    try {
      const response = await this.get(`/schedules/${encodeURIComponent(scheduleId)}`);
      await response.body?.cancel();
      if (response.ok) return 'found';
      if (response.status === 404) return 'missing';
      if (response.status === 401 || response.status === 403) return 'refused';
      return 'unreachable';
    } catch (err) {
      if (err instanceof PagerDutyUnreachable) return 'unreachable';
      throw err;
    }
  }

  private async get(pathAndQuery: string): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${pathAndQuery}`, {
        headers: {
          Authorization: `Token token=${this.settings.token}`,
          Accept: 'application/vnd.pagerduty+json;version=2',
          'Content-Type': 'application/json',
        },
        signal: AbortSignal.timeout(this.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      // The cause says which (refused, reset, timed out); the URL and headers stay out of the message.
      const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.name) : 'unknown error';
      throw new PagerDutyUnreachable(`PagerDuty could not be reached (${cause})`);
    }
  }
}
