// Slack's mrkdwn as HTML: mentions, channels, dates, links, *bold*, _italic_, ~strike~, `code`, ```blocks```, quotes.
// Everything is escaped first; only what this file builds becomes markup.

const EMOJI = {
  lock: '🔒',
  unlock: '🔓',
  no_entry_sign: '🚫',
  rotating_light: '🚨',
  warning: '⚠️',
  x: '❌',
  white_check_mark: '✅',
  stopwatch: '⏱️',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  gear: '⚙️',
  key: '🔑',
  alarm_clock: '⏰',
  wave: '👋',
  tada: '🎉',
};

export function escapeHtml(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Text Slack sent already escaped (&amp; &lt; &gt;) made safe for HTML without escaping it twice. */
function escapeSlackText(text) {
  return text
    .replace(/&(?!(amp|lt|gt);)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function emoji(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const pad = (n) => String(n).padStart(2, '0');
const ordinal = (n) => `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`;

function pretty(date, fallback) {
  const today = new Date();
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const diff = Math.round((day(date) - day(today)) / 86_400_000);
  if (diff === 0) return 'Today';
  if (diff === -1) return 'Yesterday';
  if (diff === 1) return 'Tomorrow';
  return fallback;
}

/** `<!date^unix^format|fallback>` in the reader's time zone, as Slack shows it. */
export function formatDate(unix, format) {
  const date = new Date(unix * 1000);
  const short = `${MONTHS[date.getMonth()].slice(0, 3)} ${date.getDate()}, ${date.getFullYear()}`;
  const long = `${MONTHS[date.getMonth()]} ${ordinal(date.getDate())}, ${date.getFullYear()}`;
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const ago = seconds < 60 ? 'just now' : seconds < 3600 ? `${Math.round(seconds / 60)} minutes ago` : `${Math.round(seconds / 3600)} hours ago`;
  const tokens = {
    date_num: `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`,
    date: long,
    date_short: short,
    date_long: `${date.toLocaleDateString('en-US', { weekday: 'long' })}, ${long}`,
    date_pretty: pretty(date, long),
    date_short_pretty: pretty(date, short),
    date_long_pretty: pretty(date, long),
    time: `${pad(date.getHours())}:${pad(date.getMinutes())}`,
    time_secs: `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`,
    ago,
  };
  return format.replace(/\{([a-z_]+)\}/g, (whole, name) => tokens[name] ?? whole);
}

function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

/** One `<…>` token of Slack's syntax as HTML. */
function token(inner, people) {
  const [target, label] = inner.split('|');
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const person = people.get(id);
    return `<span class="mention" data-user="${escapeSlackText(id)}">@${escapeSlackText(person ? person.name : (label ?? id))}</span>`;
  }
  if (target.startsWith('#')) return `<span class="mention">#${escapeSlackText(label ?? target.slice(1))}</span>`;
  if (target.startsWith('!date^')) {
    const [, unix, format] = target.split('^');
    const text = Number.isFinite(Number(unix)) ? formatDate(Number(unix), format ?? '{date}') : (label ?? '');
    return `<time class="date" datetime="${new Date(Number(unix) * 1000).toISOString()}" title="${escapeSlackText(label ?? '')}">${escapeHtml(text)}</time>`;
  }
  if (target.startsWith('!subteam^')) return `<span class="mention">${escapeSlackText(label ?? '@group')}</span>`;
  if (target.startsWith('!')) return `<span class="mention">@${escapeSlackText(target.slice(1))}</span>`;
  const url = safeUrl(target.replace(/&amp;/g, '&'));
  if (!url) return escapeSlackText(`<${inner}>`);
  return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener">${escapeSlackText(label ?? target)}</a>`;
}

function inline(text) {
  return text
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s.,;:!?)])/g, '$1<b>$2</b>')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s.,;:!?)])/g, '$1<i>$2</i>')
    .replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s.,;:!?)])/g, '$1<s>$2</s>');
}

/** `people`: a Map of user id -> { name }. */
export function mrkdwn(text, people = new Map()) {
  const held = [];
  const hold = (html) => `\uE000${held.push(html) - 1}\uE000`;
  let out = String(text ?? '');
  out = out.replace(/```([\s\S]*?)```/g, (_, code) => hold(`<pre>${escapeSlackText(code.replace(/^\n/, ''))}</pre>`));
  out = out.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${escapeSlackText(code)}</code>`));
  out = out.replace(/<([^<>\n]*)>/g, (_, inner) => hold(token(inner, people)));
  out = emoji(inline(escapeSlackText(out)));
  out = out
    .split('\n')
    .map((line) => (line.startsWith('&gt; ') || line === '&gt;' ? `<blockquote>${line.replace(/^&gt; ?/, '')}</blockquote>` : line))
    .join('\n')
    .replace(/<\/blockquote>\n<blockquote>/g, '<br>')
    .replace(/\n/g, '<br>');
  return out.replace(/\uE000(\d+)\uE000/g, (_, index) => held[Number(index)]);
}

/** plain_text: escaped, emoji shortcodes shown when `emoji` is not false. */
export function plainText(object) {
  const text = escapeHtml(object?.text ?? '');
  return object?.emoji === false ? text : emoji(text);
}

/** A text object (plain_text or mrkdwn) as HTML. */
export function textObject(object, people) {
  if (!object) return '';
  return object.type === 'mrkdwn' ? mrkdwn(object.text, people) : plainText(object);
}
