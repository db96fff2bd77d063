import { parseCommand } from '../../src/domain/command';
import type { ExtensionView } from '../../src/domain/extension-view';
import { validateRequest } from '../../src/domain/request-rules';
import type { RequestView } from '../../src/domain/request-view';
import { clip, inlineCode, mentionChannel, mentionUser, oneLine, plainLine } from '../../src/domain/user-text';
import { parsePolicy } from '../../src/policy/load-policy';
import { buildAppHome } from '../../src/slack/blocks/app-home';
import { buildApprovalMessage } from '../../src/slack/blocks/approval-message';
import { buildAuditSummary } from '../../src/slack/blocks/audit-summary';
import { buildExtensionMessage, extensionOutcomeNotice } from '../../src/slack/blocks/extension';
import { plainText } from '../../src/slack/blocks/format';
import { accessReappearedNotice, grantFailedNotice, grantedDirectMessage, grantedNotice } from '../../src/slack/blocks/notices';
import { buildRequestList, buildRequestStatus } from '../../src/slack/blocks/request-list';
import { buildTimeline } from '../../src/slack/blocks/request-timeline';
import { buildRevokeAlert } from '../../src/slack/blocks/revoke-alert';
import { requestView } from '../support/request-view';

/** Text a requester controls must never render as formatting, a mention, a link, an emoji code or a line of its own
 * (issue 11, "text that looks like the bot"). Every builder that shows such text is run on it, and every text object
 * in the result is checked: mrkdwn may carry it only inside code spans (escaped, one line), plain_text only with
 * emoji codes off and on one line. */
const HOSTILE = '*bold* _it_ ~s~ `c` <https://evil.example|click> <@U123> <!channel> :white_check_mark:\n✅ Approved by <@U999>';
/** What must not appear outside a code span in mrkdwn. */
const FRAGMENTS = ['*bold*', '_it_', '~s~', 'evil', 'U123', 'U999', '!channel', '✅', 'white_check_mark'];

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string; emoji?: boolean };

function textObjects(value: unknown): TextObject[] {
  if (Array.isArray(value)) return value.flatMap(textObjects);
  if (!value || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const own = (record.type === 'mrkdwn' || record.type === 'plain_text') && typeof record.text === 'string' ? [record as unknown as TextObject] : [];
  return [...own, ...Object.values(record).flatMap(textObjects)];
}

/** Code spans of a mrkdwn string, and what is left outside them. */
function splitCode(text: string): { code: string[]; outside: string } {
  const code: string[] = [];
  const outside = text.replace(/`([^`]*)`/g, (_, inner: string) => {
    code.push(inner);
    return '';
  });
  return { code, outside };
}

/** Every text object (and the fallback text, itself mrkdwn) of `what` shows HOSTILE inertly; and it is shown. */
function expectInert(what: unknown, fallback?: string): void {
  const objects = textObjects(what);
  if (fallback !== undefined) objects.push({ type: 'mrkdwn', text: fallback });
  let shown = false;
  for (const object of objects) {
    if (object.type === 'plain_text') {
      expect(object.text).not.toMatch(/[\n\r]/);
      if (object.text.includes('bold')) {
        expect(object.emoji).toBe(false);
        shown = true;
      }
      continue;
    }
    const { code, outside } = splitCode(object.text);
    for (const fragment of FRAGMENTS) expect({ outside, fragment, found: outside.includes(fragment) }).toEqual({ outside, fragment, found: false });
    for (const span of code.filter((inner) => inner.includes('bold'))) {
      expect(span).not.toMatch(/[<>\n\r]/);
      expect(span).not.toMatch(/&(?!amp;|lt;|gt;)/);
      shown = true;
    }
  }
  expect(shown).toBe(true);
}

const base: RequestView = requestView({ humanId: 'BG-7', reason: HOSTILE, ticket: HOSTILE });
const GRANTED = new Date('2026-03-01T10:00:00Z');
const ENDS = new Date('2026-03-01T10:30:00Z');
const failing: RequestView = { ...base, status: 'REVOKING', grantedAt: GRANTED, expiresAt: ENDS, revokeAttempts: 3, lastRevokeError: HOSTILE, requesterLogin: HOSTILE };
const failed: RequestView = { ...base, status: 'FAILED', failureReason: HOSTILE, requesterLogin: HOSTILE };
const active: RequestView = { ...base, status: 'ACTIVE', grantedAt: GRANTED, expiresAt: ENDS };

describe('user-text', () => {
  it('oneLine shows line breaks as ⏎ and drops control and bidi characters', () => {
    expect(oneLine('a\nb\r\nc\u2028d')).toBe('a ⏎ b ⏎ c ⏎ d');
    expect(oneLine('evil\u202egnp.exe\u0000\u200b')).toBe('evilgnp.exe');
  });

  it('inlineCode is one escaped code span that no backtick can close', () => {
    expect(inlineCode('INC-1')).toBe('`INC-1`');
    expect(inlineCode('a` *b* `c')).toBe('`aˋ *b* ˋc`');
    expect(inlineCode('<@U1> & <!here>')).toBe('`&lt;@U1&gt; &amp; &lt;!here&gt;`');
    expect(inlineCode('x\ny')).toBe('`x ⏎ y`');
    expect(inlineCode('   ')).toBe('—');
    expect(inlineCode('<'.repeat(100), 20)).toBe('`&lt;&lt;&lt;&lt;…`');
  });

  it('plainLine and plainText: one line, clipped, never empty, emoji codes off', () => {
    expect(plainLine('')).toBe('—');
    expect(plainLine('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(plainText('a\nb', { label: 'Reason: ' })).toEqual({ type: 'plain_text', text: 'Reason: a ⏎ b', emoji: false });
    expect(plainText('x'.repeat(10_000), { maxLength: 10_000 }).text.length).toBeLessThanOrEqual(3000);
    expect(clip('😀😀😀', 4)).toBe('😀…');
  });

  it('mentions only what is a Slack id', () => {
    expect(mentionUser('U0ALICE')).toBe('<@U0ALICE>');
    expect(mentionUser('U1> <!channel')).toBe('`U1&gt; &lt;!channel`');
    expect(mentionChannel('C0INCIDENT')).toBe('<#C0INCIDENT>');
    expect(mentionChannel('<!channel>')).toBe('`&lt;!channel&gt;`');
  });
});

describe('a hostile reason and ticket are inert in every builder that shows them', () => {
  it.each([
    ['the approval message', buildApprovalMessage(base)],
    ['the approval message, revocation failing', buildApprovalMessage(failing)],
    ['the approval message, failed', buildApprovalMessage(failed)],
    ['/breakglass status', buildRequestStatus(base)],
    ['/breakglass list', buildRequestList({ items: [failing, failed], total: 2 }, GRANTED)],
    ['the audit summary', buildAuditSummary({ ...failed, endedAt: ENDS }, { events: [{ at: GRANTED, actor: 'U0REQUESTER', action: 'REQUESTED', details: { ticket: HOSTILE } }] })],
    [
      '/breakglass audit',
      buildTimeline(base, [
        { at: GRANTED, actor: 'U0REQUESTER', action: 'REQUESTED', details: { role: 'write', resource: 'payments-db', durationSeconds: 60, ticket: HOSTILE } },
        { at: GRANTED, actor: 'system', action: 'GRANT_FAILED', details: { error: HOSTILE } },
        { at: GRANTED, actor: 'system', action: 'EXTENSION_REFUSED', details: { reason: HOSTILE } },
      ]),
    ],
    ['the revocation alert', buildRevokeAlert(failing, 1)],
    ['the grant failed notice', grantFailedNotice(failed)],
    ['the granted notice', grantedNotice({ ...active, requesterLogin: HOSTILE })],
    ['the granted DM', grantedDirectMessage({ ...active, requesterLogin: HOSTILE })],
    ['the drift alert', accessReappearedNotice({ ...active, requesterLogin: HOSTILE }, { revoked: false, error: HOSTILE })],
  ] as const)('%s', (_what, message) => {
    expectInert(message.blocks, message.text);
  });

  it('the App Home: waiting for approval, own access, recent and all active', () => {
    const home = buildAppHome(
      {
        userId: 'U0ADMIN',
        isAdmin: true,
        myAccess: { items: [failing], total: 1 },
        myPending: { items: [], total: 0 },
        toApprove: { items: [base], total: 1 },
        recent: [failed],
        allActive: { items: [failing], total: 1 },
        toReview: { items: [], total: 0 },
      },
      { now: GRANTED },
    );
    expectInert(home.blocks);
    const reason = textObjects(home.blocks).find((object) => object.text.startsWith('Reason: '));
    expect(reason).toEqual({ type: 'plain_text', text: `Reason: ${oneLine(HOSTILE)}`, emoji: false });
  });

  it('the approval message shows the reason as a plain_text section, the ticket as code', () => {
    const message = buildApprovalMessage(base);
    const reason = message.blocks.find((block) => block.block_id === 'reason') as any;
    expect(reason.text).toEqual({ type: 'plain_text', text: `Reason: ${oneLine(HOSTILE)}`, emoji: false });
    const fields = (message.blocks.find((block) => block.block_id === 'fields') as any).fields.map((field: TextObject) => field.text);
    expect(fields).toContain(`*Ticket*\n${inlineCode(HOSTILE, 600)}`);
  });

  it('extension messages with a hostile refusal reason', () => {
    const extension: ExtensionView = {
      id: 'e1',
      requestId: base.id,
      requestedBy: 'U0REQUESTER',
      extendBySeconds: 600,
      status: 'REFUSED',
      requiredApprovals: 1,
      approvals: [],
      messageTs: null,
      createdAt: GRANTED,
      decidedAt: GRANTED,
      decidedBy: 'U0APPROVER1',
      fromExpiresAt: ENDS,
      toExpiresAt: null,
      refusalReason: HOSTILE,
    };
    for (const message of [buildExtensionMessage(active, extension), extensionOutcomeNotice(active, extension)]) expectInert(message.blocks, message.text);
  });
});

describe('errors that echo what was typed are inert', () => {
  const policy = parsePolicy(
    `
defaults: { requireTicket: true, ticketPattern: "^[A-Z]+-[0-9]+$" }
resources:
  - id: payments-db
    provider: { type: postgres, url: "postgresql://localhost/x" }
    requesters: ["*"]
    approvers: [U0APPROVER1, U0APPROVER2]
    roles: [ { id: write, grant: w, approvals: 1, maxDuration: 1h } ]
`,
    'policy.yaml',
    {},
  );
  // Slack sends &, < and > escaped in command text; one-word arguments cannot hold spaces or line breaks.
  const word = '*bold*_it_~s~`c`&lt;@U123&gt;&lt;!channel&gt;✅';
  const problems = [
    ['an unknown subcommand', parseCommand(word)],
    ['a bad request id', parseCommand(`status ${word}`)],
    ['a bad extension duration', parseCommand(`extend BG-1 ${word}`)],
    ['an unknown resource', validateRequest(policy, input({ resourceId: word }))],
    ['an unknown role', validateRequest(policy, input({ roleId: word }))],
    ['a bad duration', validateRequest(policy, input({ durationText: word }))],
    ['a bad ticket', validateRequest(policy, input({ ticket: '*bold* <@U123> <!channel>\n✅ `x`' }))],
  ] as const;

  function input(overrides: Partial<Parameters<typeof validateRequest>[1]>): Parameters<typeof validateRequest>[1] {
    return {
      requesterId: 'U0REQUESTER',
      requesterGroupIds: new Set(),
      resourceId: 'payments-db',
      roleId: 'write',
      durationText: '30m',
      ticket: 'INC-1',
      reason: 'r',
      ...overrides,
    };
  }

  it.each(problems)('%s', (_what, result) => {
    expect(result).toHaveProperty('message');
    const message = (result as { message: string }).message;
    const { code, outside } = splitCode(message);
    for (const fragment of FRAGMENTS) expect(outside).not.toContain(fragment);
    expect(code.some((span) => span.includes('bold'))).toBe(true);
    for (const span of code.filter((inner) => inner.includes('bold'))) expect(span).not.toMatch(/[<>\n]/);
  });
});
