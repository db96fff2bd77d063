import { ErrorCode } from '@slack/web-api';

/** A call still rate limited after this many waits gives up with Slack's error. */
const MAX_RATE_LIMITED_RETRIES = 10;

/** Never retry sooner than this, even if a Retry-After says 0: no hot loop against a struggling API. */
const MIN_WAIT_MS = 1000;

/**
 * Runs `call`; after each 429 waits as long as Slack's Retry-After says, then tries again. Meant for clients with
 * `rejectRateLimitedCalls`, so a 429 holds back only this call and whoever awaits it, not the client's whole queue.
 */
export async function retryWhenRateLimited<T>(call: () => Promise<T>): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await call();
    } catch (err) {
      const retryAfterSeconds = rateLimitedFor(err);
      if (retryAfterSeconds === undefined || retries >= MAX_RATE_LIMITED_RETRIES) throw err;
      // Unref'd: a post still waiting must not keep a stopped bot's process alive.
      await new Promise((resolve) => setTimeout(resolve, Math.max(MIN_WAIT_MS, retryAfterSeconds * 1000)).unref());
    }
  }
}

/** Retry-After in seconds when `err` is WebClient's rate-limited error, else undefined. */
function rateLimitedFor(err: unknown): number | undefined {
  const candidate = err as { code?: unknown; retryAfter?: unknown } | null;
  return candidate?.code === ErrorCode.RateLimitedError && typeof candidate.retryAfter === 'number' ? candidate.retryAfter : undefined;
}
