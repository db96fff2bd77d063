/** The one place that decides how text the bot did not write is shown in Slack: reasons, tickets, logins, durations,
 * ids and commands echoed back in errors, errors from targets. Such text must never render as bold, italic, strike,
 * code, a quote, a link, a mention (`<@U…>`, `<!channel>`), an emoji code, or a line of its own (a requester must
 * not be able to add "✅ Approved by @boss" under their reason). Slack's mrkdwn has no escape character, so:
 *
 * - where Block Kit allows, the text is a `plain_text` object with `emoji: false` (`plainText`), which Slack shows
 *   literally;
 * - inside mrkdwn it becomes a code span (`inlineCode`): Slack formats nothing inside one, `&`, `<` and `>` are
 *   escaped so no mention or link survives, and a backtick (which would end the span) is replaced by `ˋ`.
 *
 * In both, line breaks become ` ⏎ ` and control and bidirectional-override characters are removed. */

/** Slack refuses a text object longer than 3000 characters; user text gets this much room in one. */
export const MAX_USER_TEXT = 2500;

// biome-ignore lint/suspicious/noControlCharactersInRegex: vertical tab and form feed break lines too
const LINE_BREAKS = /\r\n|[\n\r\u000b\u000c\u0085\u2028\u2029]/g;
// C0 controls but tab and line breaks, DEL, C1 controls, zero-width and bidirectional formatting characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** One line of visible characters: line breaks shown as ` ⏎ `, tabs as spaces, invisible characters gone. */
export function oneLine(text: string): string {
  return text.replace(INVISIBLE, '').replace(LINE_BREAKS, ' ⏎ ').replace(/\t/g, ' ');
}

/** At most `maxLength` UTF-16 units, cut between characters (never inside a surrogate pair), `…` marking a cut. */
export function clip(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length > maxLength - 1) break;
    out += char;
  }
  return `${out}…`;
}

/** `text` for a mrkdwn string, shown literally as code: no formatting, mention, link, emoji or line break. At most
 * `maxLength` characters once escaped (escaping can make it up to five times longer), never cut inside an entity. */
export function inlineCode(text: string, maxLength = MAX_USER_TEXT): string {
  const visible = oneLine(text).replace(/`/g, 'ˋ').trim();
  if (visible === '') return '—';
  let escaped = '';
  for (const char of visible) {
    const next = ENTITIES[char] ?? char;
    if (escaped.length + next.length > maxLength - 3) return `\`${escaped}…\``;
    escaped += next;
  }
  return `\`${escaped}\``;
}

/** `&`, `<` and `>` escaped, nothing else: for the policy's own words (a resource's description), which admins
 * write and may format; never for user text. */
export function escapeEntities(text: string): string {
  return text.replace(/[&<>]/g, (char) => ENTITIES[char]);
}

/** The text of a `plain_text` object carrying user text: one line, clipped, never empty (Slack refuses that). */
export function plainLine(text: string, maxLength = MAX_USER_TEXT): string {
  const visible = clip(oneLine(text).trim(), maxLength);
  return visible === '' ? '—' : visible;
}

const SLACK_USER_ID = /^[UWB][A-Z0-9]{2,}$/;
const SLACK_CHANNEL_ID = /^[CDG][A-Z0-9]{2,}$/;
const SLACK_GROUP_ID = /^S[A-Z0-9]{2,}$/;

/** A mention of a Slack user; anything that is not a user id is shown as code instead of being spliced into `<@…>`. */
export function mentionUser(userId: string): string {
  return SLACK_USER_ID.test(userId) ? `<@${userId}>` : inlineCode(userId, 100);
}

/** A link to a Slack channel; anything that is not a channel id is shown as code. */
export function mentionChannel(channelId: string): string {
  return SLACK_CHANNEL_ID.test(channelId) ? `<#${channelId}>` : inlineCode(channelId, 100);
}

/** Mentions a policy principal: a user (U…/W…) or a user group (S…). */
export function mentionPrincipal(principal: string): string {
  return SLACK_GROUP_ID.test(principal) ? `<!subteam^${principal}>` : mentionUser(principal);
}

/** Whether `text` looks like a Slack channel id (C…, G… or D…). */
export function isChannelId(text: string): boolean {
  return SLACK_CHANNEL_ID.test(text);
}
