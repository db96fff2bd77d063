/** Small text helpers shared by the Block Kit builders. */

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Slack rejects a text object longer than 3000 characters; user text gets this much room in one block. */
export const MAX_USER_TEXT = 2500;

/** User-provided text must not be able to mention @channel or forge links. Escaping can triple the length, so the
 * escaped text is clipped to `maxLength` (never inside an entity) to keep the block within Slack's limits. */
export function escapeText(text: string, maxLength = MAX_USER_TEXT): string {
  let escaped = '';
  for (const char of text) {
    const next = entities[char] ?? char;
    if (escaped.length + next.length > maxLength - 1) return `${escaped}…`;
    escaped += next;
  }
  return escaped;
}

export function mentionUser(userId: string): string {
  return `<@${userId}>`;
}

/** Mentions a policy principal: a user (U…/W…) or a user group (S…). */
export function mentionPrincipal(principal: string): string {
  return principal.startsWith('S') ? `<!subteam^${principal}>` : `<@${principal}>`;
}

/** Slack renders this in each reader's time zone; the fallback is UTC. */
export function slackDate(date: Date): string {
  const unix = Math.floor(date.getTime() / 1000);
  const fallback = date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return `<!date^${unix}^{date_short_pretty} {time_secs}|${fallback}>`;
}
