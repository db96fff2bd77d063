// The types and constants of the fake Slack Web API (fake-slack-api.ts), apart so that file stays readable.

/** One request the bot made to the fake Slack Web API, with its arguments decoded back to objects. */
export interface RecordedCall {
  /** Web API method such as `chat.postMessage`, or `response_url` for posts to a fake response URL. */
  method: string;
  /** Arguments as the caller passed them (JSON-encoded form fields decoded; the token is kept apart in `token`). */
  args: Record<string, any>;
  /** `Date.now()` when the request arrived. */
  at: number;
  /** Token from the `Authorization: Bearer` header, or from a `token` field when there was no header. */
  token?: string;
  /** False when an expected token is configured and this call did not present it (it was answered with an auth error). */
  tokenAccepted: boolean;
  /** Request path, e.g. `/api/chat.postMessage`. */
  path: string;
  /** How the fake answered, once it has: the HTTP status and whether it was a success (200 with `ok` not false).
   * Tells a delivered message from an attempt Slack refused (429, 500, a platform error). */
  answer?: { status: number; ok: boolean };
}

/** A full HTTP answer, for simulating rate limits (429 + Retry-After), server errors or non-JSON bodies. */
export interface FakeHttpResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings are sent as they are. */
  body: object | string;
}

/**
 * Answers one method call. Return a Web API result object (sent with status 200), a {@link FakeHttpResponse},
 * or `undefined` to fall back to the default answer (handy for failing only some channels or users).
 */
export type FakeResponder = (args: Record<string, any>, call: RecordedCall) => object | FakeHttpResponse | undefined | Promise<object | FakeHttpResponse | undefined>;

/** A lasting condition started by {@link FakeSlackApi.outage} or {@link FakeSlackApi.rateLimit}. */
export interface FakeOutage {
  /** Ends it: later calls get their usual answers again. Calling it twice is harmless. */
  lift(): void;
  readonly active: boolean;
}

/** A 429 as Slack sends it, with Retry-After in seconds. */
export function rateLimitedAnswer(retryAfterSeconds: number): FakeHttpResponse {
  return { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) }, body: { ok: false, error: 'ratelimited' } };
}

export interface FakeSlackUser {
  id: string;
  team_id: string;
  name: string;
  real_name: string;
  deleted: boolean;
  is_bot: boolean;
  profile: { email?: string; real_name: string; display_name: string; [key: string]: unknown };
}

/**
 * Any user field may be overridden or added (e.g. `tz`, `is_restricted`);
 * `profile` is merged into the default profile rather than replacing it.
 */
export type FakeSlackUserOverrides = Partial<Omit<FakeSlackUser, 'profile'>> & {
  profile?: Partial<FakeSlackUser['profile']>;
  [key: string]: unknown;
};

export interface FakeSlackApiOptions {
  /** When set, calls without one of these tokens are answered `not_authed` / `invalid_auth`, as Slack does. */
  expectedToken?: string | readonly string[];
}

export const FAKE_TEAM_ID = 'T0TEAM';
export const FAKE_BOT_USER_ID = 'UBOT';
export const FAKE_BOT_ID = 'BBOT';
