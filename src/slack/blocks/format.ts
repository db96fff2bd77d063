/** Small text helpers shared by the Block Kit builders. How text the bot did not write is shown is decided in one
 * place, src/domain/user-text.ts (plain_text objects, or code spans inside mrkdwn); builders use only these. */
import { clip, escapeEntities, inlineCode, MAX_USER_TEXT, mentionChannel, mentionPrincipal, mentionUser, plainLine } from '../../domain/user-text';

export { clip, escapeEntities, inlineCode, MAX_USER_TEXT, mentionChannel, mentionPrincipal, mentionUser, plainLine };

/** Slack refuses a plain_text or mrkdwn text object longer than this. */
export const MAX_TEXT_OBJECT = 3000;

/** A `plain_text` object for text that includes user text: Slack shows it literally (no mrkdwn, mentions, links,
 * or emoji codes), on one line, within Slack's limit. `label` is the bot's own words before it (e.g. `Reason: `). */
export function plainText(userText: string, { label = '', maxLength = MAX_USER_TEXT }: { label?: string; maxLength?: number } = {}) {
  return { type: 'plain_text' as const, text: clip(`${label}${plainLine(userText, maxLength)}`, MAX_TEXT_OBJECT), emoji: false };
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
