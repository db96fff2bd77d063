/** Small text helpers shared by the Block Kit builders. */

/** User-provided text must not be able to mention @channel or forge links. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
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
  const fallback = date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `<!date^${unix}^{date_short_pretty} {time_secs}|${fallback}>`;
}
