import type { Explanation } from '../app/connection-errors';

/** Slack's error codes that mean the bot token itself is refused. */
const TOKEN_REFUSED = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type']);

interface WebApiFailure {
  code?: string;
  data?: { error?: string };
  statusCode?: number;
  original?: Error;
  message?: string;
}

/** A failed fetch: undici says "fetch failed" and puts the reason (DNS, refused, timeout, TLS) in `cause`. */
type FetchFailure = { message?: string; cause?: unknown } | undefined;

/** Why a network call to Slack failed, from the fetch error's cause. */
function networkCause(error: FetchFailure): string {
  const cause = error?.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${error?.message ?? 'request failed'} (${detail})` : (error?.message ?? 'request failed');
}

/** What to check when `url` (SLACK_API_URL) cannot be reached at all. */
export function explainSlackUnreachable(error: FetchFailure, url: string, method = 'auth.test'): Explanation {
  const host = new URL(url).hostname;
  return {
    tried: `${method ? `calling Slack's ${method} at ${url}${method}` : `calling Slack at ${url}`} (SLACK_API_URL)`,
    why: `cannot reach Slack: ${networkCause(error)}`,
    next: `check that this machine resolves ${host} and may open HTTPS connections to it (DNS, firewall or egress rules, a proxy in between), and that SLACK_API_URL is https://slack.com/api/ unless you run a stand-in`,
  };
}

/** The start-up token check (auth.test) failed: say why and what to do. */
export function explainSlackFailure(error: unknown, url: string): Explanation {
  const err = (error ?? {}) as WebApiFailure;
  const tried = `checking SLACK_BOT_TOKEN with Slack's auth.test at ${url}auth.test`;
  switch (err.code) {
    case 'slack_webapi_request_error':
      return explainSlackUnreachable(err.original, url);
    case 'slack_webapi_platform_error': {
      const code = err.data?.error ?? 'unknown_error';
      if (TOKEN_REFUSED.has(code)) {
        return {
          tried,
          why: `Slack refused the token (${code})`,
          next: "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page into SLACK_BOT_TOKEN; reinstall the app to the workspace if the token was revoked",
        };
      }
      return { tried, why: `Slack answered ${code}`, next: 'see https://api.slack.com/methods/auth.test for that error' };
    }
    case 'slack_webapi_http_error':
      return { tried, why: `the server answered HTTP ${err.statusCode}`, next: `check SLACK_API_URL (${url}): it must be Slack's Web API, https://slack.com/api/` };
    case 'slack_webapi_rate_limited_error':
      return { tried, why: 'Slack rate-limited auth.test', next: 'start again in a minute; if it keeps happening, look for other processes using the same token in a loop' };
    default:
      return { tried, why: err.message ?? String(error), next: 'check SLACK_BOT_TOKEN and SLACK_API_URL' };
  }
}

/** One POST to Slack's api.test, to learn why calls fail (the Web API client logs only "fetch failed"): null when
 * Slack answered, the error otherwise. */
export async function probeSlack(url: string, timeoutMs = 5_000): Promise<Error | null> {
  try {
    await fetch(`${url}api.test`, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
    return null;
  } catch (error) {
    return error as Error;
  }
}
