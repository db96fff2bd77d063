import { createHash } from 'node:crypto';
import type { ProviderConfig } from './types';

/** Which provider configuration a grant was made with, without any secret: enough to tell at start-up that a live
 * grant's provider now points somewhere else (and say where it pointed), never enough to act on the old target. */
export interface ProviderFingerprint {
  /** sha256 hex of `description`. */
  fingerprint: string;
  /** e.g. `postgres postgresql://db.internal:5432/payments mode=membership`. Shown in logs and audit events. */
  description: string;
}

/** Query parameters dropped from a postgres URL: credentials and key material, whatever their case. */
const SECRET_PARAMETER = /pass|secret|token|key|cert|user/i;

/** What identifies the target: for postgres the URL's scheme, host, port and database (user, password and
 * credential parameters removed) and the mode; for a webhook the URL's scheme, host, port and path (user info and the
 * query, which may hold a token, removed); for a command the executables of grant and revoke (their arguments may
 * hold interpolated secrets, so they are not included). The timeout, the webhook's secret, legacySignature and
 * allowLoginAttributes are not part of it: changing them does not move the grants somewhere else. */
export function providerFingerprint(config: ProviderConfig): ProviderFingerprint {
  const description = describeProvider(config);
  return { fingerprint: createHash('sha256').update(description).digest('hex'), description };
}

function describeProvider(config: ProviderConfig): string {
  switch (config.type) {
    case 'postgres':
      return `postgres ${withoutCredentials(config.url, { keepQuery: true })} mode=${config.mode}`;
    case 'webhook':
      return `webhook ${withoutCredentials(config.url, { keepQuery: false })}`;
    case 'command':
      return `command grant=${config.grant[0]} revoke=${config.revoke[0]}`;
    default: {
      const unknownConfig: never = config;
      throw new Error(`unknown provider type ${JSON.stringify((unknownConfig as { type: unknown }).type)}`);
    }
  }
}

function withoutCredentials(url: string, { keepQuery }: { keepQuery: boolean }): string {
  if (!URL.canParse(url)) return '(not a URL)'; // the policy checks URLs; never echo what it could not read
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  if (keepQuery) {
    // Sorted, so the order parameters are written in does not count as a change.
    const kept = [...parsed.searchParams].filter(([name]) => !SECRET_PARAMETER.test(name)).sort(([a], [b]) => a.localeCompare(b));
    parsed.search = new URLSearchParams(kept).toString();
  } else {
    parsed.search = '';
  }
  return parsed.toString();
}
