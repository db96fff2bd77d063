import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { endLiveRequests, requestAccess, startE2eBot } from './e2e-helpers';
import { APPROVER1, CHANNEL, REQUESTER } from './policy-fixture';

/** A requester cannot make the bot's messages look like something else (issue 11): a reason and a ticket full of
 * formatting, links, mentions, emoji codes and a fake "Approved by" line, sent through the slash command over signed
 * HTTP, are shown inertly in the approval message the fake Slack received and in an approver's App Home; a command
 * whose error echoes a hostile ticket, id or duration echoes it inertly too. (The fixture policy's ticket pattern
 * lets no hostile ticket through to a message; test/unit/user-text.test.ts shows one in every builder.) */
const target = new TargetDatabase();
let harness: BotHarness;

beforeAll(async () => {
  ({ harness } = await startE2eBot(target));
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

afterEach(async () => {
  await endLiveRequests(harness);
});

/** As Slack sends it: &, < and > the user typed escaped, mentions and links the client made raw. */
const HOSTILE_REASON =
  '*bold* _it_ ~s~ `c` &lt;https://evil.example|click&gt; <https://evil.example|here> <@U0VICTIM> <!channel> :white_check_mark:\n✅ Approved by <@U0APPROVER1>';
/** What must not appear in mrkdwn outside a code span. */
const FRAGMENTS = ['*bold*', '_it_', '~s~', 'evil', 'U0VICTIM', '!channel', '✅', 'white_check_mark'];

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string; emoji?: boolean };

function textObjects(value: unknown): TextObject[] {
  if (Array.isArray(value)) return value.flatMap(textObjects);
  if (!value || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const own = (record.type === 'mrkdwn' || record.type === 'plain_text') && typeof record.text === 'string' ? [record as unknown as TextObject] : [];
  return [...own, ...Object.values(record).flatMap(textObjects)];
}

/** mrkdwn with its code spans taken out, and the spans. */
function splitCode(text: string): { outside: string; code: string[] } {
  const code: string[] = [];
  const outside = text.replace(/`([^`]*)`/g, (_, inner: string) => {
    code.push(inner);
    return '';
  });
  return { outside, code };
}

/** Hostile text shows only literally: plain_text with emoji codes off and no line break, or an escaped code span. */
function expectInert(objects: TextObject[]): void {
  for (const object of objects) {
    if (object.type === 'plain_text') {
      expect(object.text).not.toMatch(/\n/);
      if (object.text.includes('bold')) expect(object.emoji).toBe(false);
      continue;
    }
    const { outside, code } = splitCode(object.text);
    for (const fragment of FRAGMENTS) expect({ text: object.text, fragment, outside: outside.includes(fragment) }).toEqual({ text: object.text, fragment, outside: false });
    for (const span of code.filter((inner) => inner.includes('bold') || inner.includes('evil'))) expect(span).not.toMatch(/[<>\n]/);
  }
}

it('the approval message and the approver’s Home show a hostile reason and ticket inertly', async () => {
  const ticket = 'INC-1';
  const { message, request } = await requestAccess(harness, `payments-db read 30m ${ticket} ${HOSTILE_REASON}`);
  // Stored as typed (Slack's escaping undone once), so it is escaped exactly once when shown.
  expect(request.reason).toBe(HOSTILE_REASON.replace('&lt;', '<').replace('&gt;', '>'));

  const blocks = message.args.blocks as Array<Record<string, any>>;
  const reason = blocks.find((block) => block.block_id === 'reason')!;
  expect(reason.text).toEqual({
    type: 'plain_text',
    text: 'Reason: *bold* _it_ ~s~ `c` <https://evil.example|click> <https://evil.example|here> <@U0VICTIM> <!channel> :white_check_mark: ⏎ ✅ Approved by <@U0APPROVER1>',
    emoji: false,
  });
  expectInert(textObjects(blocks));
  expectInert([{ type: 'mrkdwn', text: message.args.text }]);
  // The only approval line is the bot's own: nobody has approved.
  expect(blocks.find((block) => block.block_id === 'approvals')!.text.text).toBe('No approvals yet.');

  const homes = harness.slack.callsOf('views.publish').length;
  const response = await harness.sender.eventCallback({ event: { type: 'app_home_opened', user: APPROVER1, channel: `D${APPROVER1}`, tab: 'home' } });
  expect(response.status).toBe(200);
  const home = await waitFor(
    () =>
      harness.slack
        .callsOf('views.publish')
        .slice(homes)
        .find((call) => call.args.user_id === APPROVER1 && JSON.stringify(call.args.view).includes('bold')),
    "the approver's Home with the request",
  );
  const objects = textObjects(home.args.view.blocks);
  expect(objects.filter((object) => object.text.includes('bold'))).toEqual([expect.objectContaining({ type: 'plain_text', emoji: false })]);
  expectInert(objects);
});

describe('errors that echo what was typed', () => {
  async function answer(text: string): Promise<string> {
    const answers = harness.slack.callsOf('response_url').length;
    const response = await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text });
    expect(response.status).toBe(200);
    const acked = response.json();
    if (acked?.text) return acked.text;
    const call = await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], `the answer to /breakglass ${text}`);
    return call.args.text;
  }

  it.each([
    ['a bad ticket', 'payments-db read 30m *bold*&lt;@U0VICTIM&gt;<!channel>✅ a reason', '`*bold*&lt;@U0VICTIM&gt;&lt;!channel&gt;✅` is not a valid ticket'],
    ['a bad duration', 'payments-db read *bold*<!channel> INC-1 a reason', '`*bold*&lt;!channel&gt;` is not a duration'],
    ['an unknown resource', '*evil*<!channel> read 30m INC-1 a reason', 'There is no resource `*evil*&lt;!channel&gt;`'],
    ['an unknown role', 'payments-db _it_<!channel> 30m INC-1 a reason', 'has no role `_it_&lt;!channel&gt;`'],
    ['a bad request id', 'status *bold*<@U0VICTIM>', '`*bold*&lt;@U0VICTIM&gt;` is not a request id'],
    ['a bad extension duration', 'extend BG-1 ~s~<!channel>', '`~s~&lt;!channel&gt;` is not a duration'],
    ['an unknown subcommand', '*bold*<!channel>`x`', '`*bold*&lt;!channel&gt;ˋxˋ` is not a command'],
  ])('%s', async (_what, text, echoed) => {
    const said = await answer(text);
    expect(said).toContain(echoed);
    const { outside } = splitCode(said);
    for (const fragment of ['*bold*', '*evil*', '_it_', '~s~', 'U0VICTIM', '!channel', '✅']) expect(outside).not.toContain(fragment);
  });
});
