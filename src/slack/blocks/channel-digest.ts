import type { KnownBlock } from '@slack/web-api';
import type { RequestView } from '../../domain/request-view';
import { endings } from './audit-summary';
import type { SlackMessage } from './message';
import { MAX_TEXT_OBJECT, mentionUser } from './format';

/** Slack refuses a message with more blocks than this. */
export const DIGEST_MAX_BLOCKS = 50;
/** Slack also refuses a message whose blocks hold about 13,200 characters of text in all (`msg_blocks_too_long`,
 * undocumented; seen from 13,172 characters on): a digest message keeps its block text under this. */
export const DIGEST_MAX_CHARS = 12_000;
/** Lines per section, under Slack's 3000 characters per text object. */
const SECTION_MAX_CHARS = MAX_TEXT_OBJECT - 100;

export interface DigestEntry {
  view: RequestView;
  /** The approval thread, where the request's full audit summary is posted. */
  threadLink: string | null;
}

/** One ended grant in one line: its id linking to its thread, what it was, whose and how it ended (when: in the
 * message's note, for all its lines). Role and resource are policy ids; nothing a user typed appears. About 130
 * characters, so 200 grants fit in three messages. */
export function digestLine({ view, threadLink }: DigestEntry): string {
  const label = threadLink ? `<${threadLink}|${view.humanId}>` : view.humanId;
  const ending = view.endReason ? endings[view.endReason] : 'ended';
  return `• ${label} \`${view.roleId}\` on \`${view.resourceId}\` for ${mentionUser(view.requesterId)}: ${ending}`;
}

const header = (count: number, part: number, parts: number): string =>
  `Audit summaries: access ended for ${count} grant${count === 1 ? '' : 's'}${parts > 1 ? ` (${part} of ${parts})` : ''}`;

const time = (at: Date) => `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} {time_secs}|${at.toISOString().slice(0, 19).replace('T', ' ')} UTC>`;

/** When the message's grants ended, and where the rest is. */
function note(entries: readonly DigestEntry[]): string {
  const times = entries.map(({ view }) => (view.endedAt ?? new Date()).getTime());
  const [first, last] = [Math.min(...times), Math.max(...times)];
  const when = first === last ? `Ended ${time(new Date(first))}` : `Ended between ${time(new Date(first))} and ${time(new Date(last))}`;
  return `${when}. Each line links to its approval thread, where the full audit summary (reason, approvals, timeline) is posted.`;
}
/** The longest a note can be (two times). */
const NOTE_MAX_CHARS = note([{ endedAt: new Date(0) }, { endedAt: new Date(1_000) }].map((view) => ({ view: view as RequestView, threadLink: null }))).length + 20;

/**
 * A channel's digest of ended grants: one line per grant, as few messages as Slack's limits allow (at most
 * DIGEST_MAX_BLOCKS blocks and DIGEST_MAX_CHARS characters of block text each), in the order given. Used when more
 * grants end in a channel at once than full summaries could be posted for at Slack's one message per second per
 * channel; each message names its grants in its fallback text too (`BG-1, BG-2, …`).
 */
export function buildChannelDigests(entries: readonly DigestEntry[]): SlackMessage[] {
  // Room for the header and the note in every message.
  const fixedChars = header(99_999, 99, 99).length + NOTE_MAX_CHARS;
  const fixedBlocks = 2;
  const chunks: Array<{ entries: DigestEntry[]; sections: string[] }> = [];
  let current: { entries: DigestEntry[]; sections: string[]; chars: number } | null = null;
  for (const entry of entries) {
    const line = digestLine(entry);
    if (!current) {
      current = { entries: [], sections: [], chars: fixedChars };
      chunks.push(current);
    }
    const last = current.sections.length - 1;
    const fitsSection = last >= 0 && current.sections[last].length + 1 + line.length <= SECTION_MAX_CHARS;
    const addedChars = line.length + 1;
    const newSection = !fitsSection;
    if (current.chars + addedChars > DIGEST_MAX_CHARS || (newSection && fixedBlocks + current.sections.length + 1 > DIGEST_MAX_BLOCKS)) {
      if (current.entries.length > 0) {
        current = { entries: [], sections: [], chars: fixedChars };
        chunks.push(current);
      }
    }
    const at = current.sections.length - 1;
    if (at >= 0 && current.sections[at].length + 1 + line.length <= SECTION_MAX_CHARS) current.sections[at] += `\n${line}`;
    else current.sections.push(line);
    current.entries.push(entry);
    current.chars += addedChars;
  }
  return chunks.map((chunk, index) => {
    const title = header(chunk.entries.length, index + 1, chunks.length);
    const blocks: KnownBlock[] = [
      { type: 'header', block_id: 'title', text: { type: 'plain_text', text: title } },
      { type: 'context', block_id: 'note', elements: [{ type: 'mrkdwn', text: note(chunk.entries) }] },
      ...chunk.sections.map((text, at): KnownBlock => ({ type: 'section', block_id: `ended-${at + 1}`, text: { type: 'mrkdwn', text } })),
    ];
    return { text: `${title}: ${chunk.entries.map(({ view }) => view.humanId).join(', ')}`, blocks };
  });
}
