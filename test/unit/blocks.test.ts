import type { RequestState } from '../../src/domain/request-state';
import type { RequestView } from '../../src/domain/request-view';
import { parsePolicy } from '../../src/policy/load-policy';
import { findRole, requestableRoles } from '../../src/policy/policy-queries';
import { ActionIds, RequestModal } from '../../src/slack/blocks/action-ids';
import { buildApprovalMessage } from '../../src/slack/blocks/approval-message';
import { buildAuditSummary } from '../../src/slack/blocks/audit-summary';
import { inlineCode, mentionPrincipal, mentionUser, slackDate } from '../../src/slack/blocks/format';
import { buildHelpText } from '../../src/slack/blocks/help-message';
import {
  approvalRecordedNotice,
  deniedNotice,
  grantFailedNotice,
  grantedDirectMessage,
  grantedNotice,
  credentialsDirectMessage,
  revokeRequestedNotice,
  timedOutNotice,
} from '../../src/slack/blocks/notices';
import { buildRevokeAlert, duplicateAlertNotice } from '../../src/slack/blocks/revoke-alert';
import { buildRequestModal } from '../../src/slack/blocks/request-modal';
import type { SlackMessage } from '../../src/slack/surface';
import { requestView } from '../support/request-view';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

const policy = parsePolicy(
  `
defaults: { requireTicket: true, ticketPattern: "^[A-Z]+-[0-9]+$" }
resources:
  - id: payments-db
    description: Payments PostgreSQL (production)
    provider: { type: postgres, url: "postgresql://admin@db/payments" }
    approvers: [U0APPROVER1, U0APPROVER2, S0SRELEADS]
    roles:
      - { id: read,  approvals: 1, maxDuration: 8h }
      - { id: write, approvals: 2, maxDuration: 1h, requesters: [S0PAYMENTS] }
  - id: deploy-console
    provider: { type: webhook, url: "http://127.0.0.1:9000/access", secret: s }
    approvers: [U0APPROVER1]
    roles: [ { id: operator, maxDuration: 2h, requireTicket: false } ]
  - id: ledger
    provider: { type: postgres, url: "postgresql://admin@db/ledger" }
    approvers: [U0APPROVER1]
    requesters: [S0FINANCE]
    roles: [ { id: audit } ]
`,
  'breakglass.yaml',
  {},
);

const REQUESTER = 'U0REQUESTER';
/** What U0REQUESTER (in no user group) may request: payments-db/read and deploy-console/operator. */
const requestableForRequester = requestableRoles(policy, REQUESTER, new Set());
/** In S0PAYMENTS: payments-db/read, payments-db/write, deploy-console/operator. */
const requestableForPayments = requestableRoles(policy, REQUESTER, new Set(['S0PAYMENTS']));

const CREATED = new Date('2026-03-01T09:55:00Z');
const APPROVED_1 = new Date('2026-03-01T09:58:00Z');
const APPROVED_2 = new Date('2026-03-01T09:59:10Z');
const GRANTED = new Date('2026-03-01T10:00:00Z');
const EXPIRES = new Date('2026-03-01T11:00:00Z');
const ENDED = new Date('2026-03-01T10:42:30Z'); // 42m 30s after GRANTED

const unix = (date: Date) => Math.floor(date.getTime() / 1000);

function view(overrides: Partial<RequestView> = {}): RequestView {
  const found = findRole(policy, 'payments-db', 'write');
  if (!found) throw new Error('fixture policy lacks payments-db/write');
  return requestView({
    id: 'req_0001',
    humanId: 'BG-42',
    requesterId: REQUESTER,
    resourceId: found.resource.id,
    resourceDescription: found.resource.description,
    roleId: found.role.id,
    durationSeconds: 3_600,
    reason: 'payout worker stuck, need to requeue',
    requiredApprovals: found.role.approvals,
    approverPrincipals: found.role.approvers,
    createdAt: CREATED,
    ...overrides,
  });
}

const BOTH_APPROVALS = [
  { approverId: 'U0APPROVER1', at: APPROVED_1 },
  { approverId: 'U0APPROVER2', at: APPROVED_2 },
];

/** A plausible view for each state, so every state can be rendered. */
function viewIn(status: RequestState): RequestView {
  switch (status) {
    case 'PENDING':
      return view();
    case 'APPROVED':
      return view({ status, approvals: BOTH_APPROVALS, decidedAt: APPROVED_2, decidedBy: 'U0APPROVER2' });
    case 'ACTIVE':
      return view({ status, approvals: BOTH_APPROVALS, decidedAt: APPROVED_2, decidedBy: 'U0APPROVER2', grantedAt: GRANTED, expiresAt: EXPIRES });
    case 'REVOKING':
      return view({ status, approvals: BOTH_APPROVALS, grantedAt: GRANTED, expiresAt: EXPIRES, endReason: 'revoked', endedBy: 'U0APPROVER2' });
    case 'EXPIRED':
      return view({ status, approvals: BOTH_APPROVALS, grantedAt: GRANTED, expiresAt: EXPIRES, endedAt: EXPIRES, endReason: 'expired' });
    case 'REVOKED':
      return view({ status, approvals: BOTH_APPROVALS, grantedAt: GRANTED, expiresAt: EXPIRES, endedAt: ENDED, endedBy: 'U0APPROVER2', endReason: 'revoked' });
    case 'DENIED':
      return view({ status, decidedAt: APPROVED_1, decidedBy: 'U0APPROVER1' });
    case 'FAILED':
      return view({ status, approvals: BOTH_APPROVALS, endedAt: ENDED, endReason: 'grant_failed', failureReason: 'role payments_write does not exist' });
    case 'TIMED_OUT':
      return view({ status });
  }
}

const ALL_STATES: readonly RequestState[] = ['PENDING', 'APPROVED', 'ACTIVE', 'REVOKING', 'EXPIRED', 'REVOKED', 'DENIED', 'FAILED', 'TIMED_OUT'];
const FINAL_STATES: readonly RequestState[] = ['EXPIRED', 'REVOKED', 'DENIED', 'FAILED', 'TIMED_OUT'];

// ---------------------------------------------------------------------------------------------------------------
// Helpers to read Block Kit as data

type AnyBlock = Record<string, any>;

const blocksOf = (message: SlackMessage): AnyBlock[] => message.blocks as AnyBlock[];
const blockById = (message: SlackMessage, blockId: string): AnyBlock => {
  const block = blocksOf(message).find((candidate) => candidate.block_id === blockId);
  if (!block) throw new Error(`no block ${blockId} in ${JSON.stringify(message.blocks.map((b) => b.block_id))}`);
  return block;
};
const actionBlocks = (message: SlackMessage) => blocksOf(message).filter((block) => block.type === 'actions');

/** Every string value anywhere in the structure (texts, fallbacks, values). */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(allStrings);
  return [];
}

/** Every interactive element (one with an action_id) anywhere in the blocks. */
function interactiveElements(value: unknown): AnyBlock[] {
  if (Array.isArray(value)) return value.flatMap(interactiveElements);
  if (value && typeof value === 'object') {
    const own = 'action_id' in value ? [value as AnyBlock] : [];
    return [...own, ...Object.values(value).flatMap(interactiveElements)];
  }
  return [];
}

/** All visible text of a message's blocks, joined. */
const blockText = (message: SlackMessage) => allStrings(message.blocks).join('\n');

const HOSTILE_REASON = 'ping <!channel> see <https://evil.example|x> & <@U0VICTIM>';
const ESCAPED_HOSTILE_REASON = 'ping &lt;!channel&gt; see &lt;https://evil.example|x&gt; &amp; &lt;@U0VICTIM&gt;';

/** Outside plain_text objects with emoji codes off (which Slack shows literally), no raw markup survives. */
function expectNoRawHostileMarkup(message: SlackMessage | string): void {
  const literal = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(literal)
      : value && typeof value === 'object'
        ? (value as AnyBlock).type === 'plain_text' && (value as AnyBlock).emoji === false
          ? null
          : Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, literal(inner)]))
        : value;
  for (const text of allStrings(literal(message))) {
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<https://evil');
    expect(text).not.toContain('<@U0VICTIM>');
    expect(text).not.toContain('&amp;amp;');
    expect(text).not.toContain('&amp;lt;');
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('format', () => {
  it('inlineCode escapes &, < and > exactly once, inside a code span', () => {
    expect(inlineCode(HOSTILE_REASON)).toBe(`\`${ESCAPED_HOSTILE_REASON}\``);
    expect(inlineCode('a && b')).toBe('`a &amp;&amp; b`');
    expect(inlineCode('&lt;')).toBe('`&amp;lt;`'); // literal text the user typed stays literal
    expect(inlineCode('plain text, no markup')).toBe('`plain text, no markup`');
  });

  it('mentionUser and mentionPrincipal write Slack mentions for users (U/W) and user groups (S)', () => {
    expect(mentionUser('U0ALICE')).toBe('<@U0ALICE>');
    expect(mentionPrincipal('U0ALICE')).toBe('<@U0ALICE>');
    expect(mentionPrincipal('W0ENTERPRISE')).toBe('<@W0ENTERPRISE>');
    expect(mentionPrincipal('S0SRELEADS')).toBe('<!subteam^S0SRELEADS>');
  });

  it('slackDate is a Slack date token with the unix time and a UTC fallback', () => {
    expect(slackDate(GRANTED)).toBe('<!date^1772359200^{date_short_pretty} {time_secs}|2026-03-01 10:00:00 UTC>');
    expect(slackDate(new Date('2026-03-01T10:00:00.999Z'))).toBe('<!date^1772359200^{date_short_pretty} {time_secs}|2026-03-01 10:00:00 UTC>');
  });
});

describe('action ids', () => {
  it('are distinct, so listeners cannot collide', () => {
    const ids = Object.values(ActionIds);
    expect(new Set(ids).size).toBe(ids.length);
    const blockIds = Object.values(RequestModal.blocks).map((b) => b.blockId);
    expect(new Set(blockIds).size).toBe(blockIds.length);
  });

  it('the modal resource select dispatches the registered action id', () => {
    expect(RequestModal.blocks.resource.actionId).toBe(ActionIds.modalResource);
  });
});

describe('buildApprovalMessage', () => {
  it.each(ALL_STATES)('has non-empty fallback text naming the request in state %s', (status) => {
    const message = buildApprovalMessage(viewIn(status));
    expect(typeof message.text).toBe('string');
    expect(message.text.trim()).not.toBe('');
    expect(message.text).toContain('BG-42');
    expect(message.text).toContain('payments-db');
    expect(message.text).toContain(REQUESTER);
  });

  it('PENDING offers Approve and Deny carrying the request id; Deny asks for confirmation', () => {
    const message = buildApprovalMessage(viewIn('PENDING'));
    const actions = actionBlocks(message);
    expect(actions).toHaveLength(1);
    const elements = actions[0].elements as AnyBlock[];
    expect(elements.map((e) => e.action_id)).toEqual([ActionIds.approve, ActionIds.deny]);
    const [approve, deny] = elements;
    expect(approve).toMatchObject({ type: 'button', value: 'req_0001', text: { text: 'Approve' } });
    expect(deny).toMatchObject({ type: 'button', value: 'req_0001', text: { text: 'Deny' } });
    expect(deny.confirm).toBeDefined();
    expect(deny.confirm.title.text).toContain('BG-42');
    expect(deny.confirm.confirm.text).toBeTruthy();
    expect(deny.confirm.deny.text).toBeTruthy();
  });

  it('ACTIVE offers only Revoke now, carrying the request id, with a confirmation', () => {
    const message = buildApprovalMessage(viewIn('ACTIVE'));
    const elements = interactiveElements(message.blocks);
    expect(elements).toHaveLength(1);
    const [revoke] = elements;
    expect(revoke).toMatchObject({ type: 'button', action_id: ActionIds.revokeNow, value: 'req_0001' });
    expect(revoke.confirm).toBeDefined();
    expect(revoke.confirm.text.text).toContain(mentionUser(REQUESTER));
  });

  it.each(FINAL_STATES)('%s has no actions block and no interactive element', (status) => {
    const message = buildApprovalMessage(viewIn(status));
    expect(actionBlocks(message)).toEqual([]);
    expect(interactiveElements(message.blocks)).toEqual([]);
  });

  it.each(['APPROVED', 'ACTIVE', 'REVOKING', ...FINAL_STATES] as RequestState[])('%s offers neither Approve nor Deny', (status) => {
    const ids = interactiveElements(buildApprovalMessage(viewIn(status)).blocks).map((e) => e.action_id);
    expect(ids).not.toContain(ActionIds.approve);
    expect(ids).not.toContain(ActionIds.deny);
  });

  it('lists each approval with a mention and the time, and counts what is left', () => {
    const message = buildApprovalMessage(view({ approvals: [{ approverId: 'U0APPROVER1', at: APPROVED_1 }] }));
    const approvals = blockById(message, 'approvals').text.text as string;
    expect(approvals).toContain('<@U0APPROVER1>');
    expect(approvals).toContain(`<!date^${unix(APPROVED_1)}^`);
    expect(approvals).not.toContain('<@U0APPROVER2>');
    const status = blockById(message, 'status').text.text as string;
    expect(status).toMatch(/1 more approval\b(?!s)/);
    expect(status).toContain('1 of 2');
  });

  it('says no approvals yet, and the full count, when nobody has approved', () => {
    const message = buildApprovalMessage(view());
    expect(blockById(message, 'approvals').text.text).toMatch(/no approvals yet/i);
    expect(blockById(message, 'status').text.text).toMatch(/2 more approvals/);
  });

  it('lists both approvers once both approved', () => {
    const approvals = blockById(buildApprovalMessage(viewIn('ACTIVE')), 'approvals').text.text as string;
    expect(approvals).toContain('<@U0APPROVER1>');
    expect(approvals).toContain('<@U0APPROVER2>');
  });

  it('names who may approve: users as user mentions, user groups as subteam mentions', () => {
    const context = blockById(buildApprovalMessage(view()), 'approvers');
    const text = allStrings(context.elements).join(' ');
    expect(text).toContain('<@U0APPROVER1>');
    expect(text).toContain('<@U0APPROVER2>');
    expect(text).toContain('<!subteam^S0SRELEADS>');
    expect(text).toMatch(/2 distinct approvals/);
  });

  it('shows requester, login, access, duration and ticket', () => {
    const text = blockText(buildApprovalMessage(view()));
    expect(text).toContain('<@U0REQUESTER>');
    expect(text).toContain('alice');
    expect(text).toContain('payments-db');
    expect(text).toContain('write');
    expect(text).toContain('1h');
    expect(text).toContain('INC-4211');
    expect(text).toContain('payout worker stuck, need to requeue');
  });

  it('escapes user-provided text: reason, ticket, login and failure reason', () => {
    const hostile = view({
      status: 'FAILED',
      reason: HOSTILE_REASON,
      ticket: 'INC-1 <!here>',
      requesterLogin: 'al<!channel>ice',
      failureReason: 'target said <!channel> & <https://evil.example|click>',
    });
    const message = buildApprovalMessage(hostile);
    expect(blockById(message, 'reason').text).toEqual({ type: 'plain_text', text: `Reason: ${HOSTILE_REASON}`, emoji: false });
    expect(blockText(message)).toContain('`INC-1 &lt;!here&gt;`');
    expect(blockText(message)).toContain('`al&lt;!channel&gt;ice`');
    expectNoRawHostileMarkup(message);
  });

  it('distinguishes a withdrawal by the requester from a denial by an approver', () => {
    const denied = blockById(buildApprovalMessage(viewIn('DENIED')), 'status').text.text as string;
    expect(denied).toMatch(/denied/i);
    expect(denied).toContain('<@U0APPROVER1>');
    const withdrawn = blockById(buildApprovalMessage(view({ status: 'DENIED', decidedBy: REQUESTER })), 'status').text.text as string;
    expect(withdrawn).toMatch(/withdrawn/i);
    expect(withdrawn).toContain('<@U0REQUESTER>');
  });

  it('ACTIVE shows when access ends; REVOKED shows who revoked it', () => {
    expect(blockById(buildApprovalMessage(viewIn('ACTIVE')), 'status').text.text).toContain(`<!date^${unix(EXPIRES)}^`);
    const revoked = blockById(buildApprovalMessage(viewIn('REVOKED')), 'status').text.text as string;
    expect(revoked).toMatch(/revoked early/i);
    expect(revoked).toContain('<@U0APPROVER2>');
  });

  it('FAILED says nothing is granted and why', () => {
    const status = blockById(buildApprovalMessage(viewIn('FAILED')), 'status').text.text as string;
    expect(status).toContain('role payments_write does not exist');
    expect(status).toMatch(/nothing is granted/i);
  });
});

describe('buildAuditSummary', () => {
  const revoked = () => buildAuditSummary(viewIn('REVOKED'));

  it('has non-empty fallback text for every way access ends', () => {
    for (const status of ['EXPIRED', 'REVOKED', 'FAILED'] as RequestState[]) {
      const message = buildAuditSummary(viewIn(status));
      expect(message.text.trim()).not.toBe('');
      expect(message.text).toContain('BG-42');
    }
  });

  it('records requester, login, resource, role, reason and ticket', () => {
    const text = blockText(revoked());
    expect(text).toContain('<@U0REQUESTER>');
    expect(text).toContain('alice');
    expect(text).toContain('payments-db');
    expect(text).toContain('write');
    expect(text).toContain('payout worker stuck, need to requeue');
    expect(text).toContain('INC-4211');
  });

  it('lists each approver with the time of approval', () => {
    const approvals = blockById(revoked(), 'approvals').text.text as string;
    expect(approvals).toContain('<@U0APPROVER1>');
    expect(approvals).toContain('<@U0APPROVER2>');
    expect(approvals).toContain(`<!date^${unix(APPROVED_1)}^`);
    expect(approvals).toContain(`<!date^${unix(APPROVED_2)}^`);
  });

  it('records when access was granted and when it ended', () => {
    const facts = blockById(revoked(), 'facts').text.text as string;
    expect(facts).toMatch(new RegExp(`Granted:\\*? <!date\\^${unix(GRANTED)}\\^`));
    expect(facts).toContain(`<!date^${unix(ENDED)}^`);
  });

  it('records the actual duration from grant to end, not the requested one', () => {
    // 10:00:00 → 10:42:30 is 42m 30s; the request asked for 1h.
    const facts = blockById(revoked(), 'facts').text.text as string;
    expect(facts).toMatch(/Actual duration:\*? 42m 30s/);
    const expired = blockById(buildAuditSummary(viewIn('EXPIRED')), 'facts').text.text as string;
    expect(expired).toMatch(/Actual duration:\*? 1h\b/);
  });

  it('says revoked early and by whom for a revoked request', () => {
    const message = revoked();
    expect(blockText(message)).toMatch(/revoked early[^\n]*by <@U0APPROVER2>/i);
    expect(message.text).toMatch(/revoked early/i);
  });

  it('does not call an expiry "revoked early"', () => {
    const message = buildAuditSummary(viewIn('EXPIRED'));
    expect(blockText(message)).toMatch(/expired/i);
    expect(blockText(message)).not.toMatch(/revoked early/i);
  });

  it('says a failed grant was rolled back, with the reason, and no actual duration when never granted', () => {
    const message = buildAuditSummary(viewIn('FAILED'));
    const facts = blockById(message, 'facts').text.text as string;
    expect(blockText(message)).toMatch(/rolled back/i);
    expect(facts).toContain('role payments_write does not exist');
    expect(facts).toMatch(/Granted:\*? never/);
    expect(facts).not.toMatch(/Actual duration:\*? \d/);
  });

  it('escapes user-provided text', () => {
    const message = buildAuditSummary(
      view({
        status: 'REVOKED',
        reason: HOSTILE_REASON,
        ticket: 'INC-1 <!here>',
        grantedAt: GRANTED,
        endedAt: ENDED,
        endedBy: 'U0APPROVER2',
        endReason: 'revoked',
        failureReason: '<!channel> & co',
      }),
    );
    expect(blockById(message, 'reason').text).toEqual({ type: 'plain_text', text: `Reason: ${HOSTILE_REASON}`, emoji: false });
    expect(blockText(message)).toContain('`INC-1 &lt;!here&gt;`');
  });
});

describe('Slack size limits', () => {
  // Slack rejects a section whose text is longer than 3000 characters (invalid_blocks), so the request could not
  // be posted at all. The longest allowed reason (1000 characters, see MAX_REASON_LENGTH) must still fit, and so must
  // one stored before that limit, and a ticket that needs escaping (up to five times longer).
  const worstReason = '<'.repeat(1000);
  const hugeReason = 'x'.repeat(10_000);

  it('the approval message reason section fits for the longest reason that needs escaping', () => {
    for (const reason of [worstReason, hugeReason]) {
      const text = blockById(buildApprovalMessage(view({ reason, ticket: '&'.repeat(2000) })), 'reason').text.text as string;
      expect(text.length).toBeLessThanOrEqual(3000);
    }
    const fields = blockById(buildApprovalMessage(view({ ticket: '&'.repeat(2000), requesterLogin: '<'.repeat(500) })), 'fields').fields as AnyBlock[];
    for (const field of fields) expect((field.text as string).length).toBeLessThanOrEqual(2000);
  });

  it('shows the timeline and the thread link when given, and keeps the timeline within one block', () => {
    const events = [
      { at: CREATED, actor: REQUESTER, action: 'REQUESTED', details: { resource: 'payments-db', role: 'write', durationSeconds: 3600 } },
      { at: APPROVED_1, actor: 'U0APPROVER1', action: 'APPROVAL_RECORDED', details: { approvals: 1, required: 2 } },
      { at: GRANTED, actor: 'system', action: 'REMINDER_SENT', details: {} },
      { at: GRANTED, actor: REQUESTER, action: 'EXTENDED', details: { from: EXPIRES.toISOString(), to: ENDED.toISOString() } },
    ];
    const summary = buildAuditSummary(viewIn('REVOKED'), { events, threadLink: 'https://test.slack.com/archives/C0INCIDENT/p1772359000000100' });
    const timeline = blockById(summary, 'timeline').text.text as string;
    expect(timeline.split('\n')).toHaveLength(5);
    expect(timeline).toContain('<@U0APPROVER1> approved (1 of 2)');
    expect(timeline).toContain('Reminder sent');
    expect(timeline).toContain(`<@${REQUESTER}> extended the access`);
    expect(blockById(summary, 'facts').text.text).toContain('<https://test.slack.com/archives/C0INCIDENT/p1772359000000100|BG-42 in the channel>');

    const many = Array.from({ length: 400 }, (_, index) => ({ at: GRANTED, actor: 'U0APPROVER1', action: 'APPROVAL_RECORDED', details: { approvals: index, required: 400 } }));
    const long = blockById(buildAuditSummary(viewIn('REVOKED'), { events: many }), 'timeline').text.text as string;
    expect(long.length).toBeLessThanOrEqual(3000);
    expect(long).toMatch(/see `\/breakglass audit BG-42` for the rest$/);
    expect(buildAuditSummary(viewIn('REVOKED')).blocks.some((block) => block.block_id === 'timeline')).toBe(false);
  });

  it('every audit summary section fits for the longest reason that needs escaping', () => {
    const summary = buildAuditSummary(view({ ...viewIn('REVOKED'), reason: worstReason }));
    for (const id of ['facts', 'reason']) expect((blockById(summary, id).text.text as string).length).toBeLessThanOrEqual(3000);
    expect(blockById(summary, 'reason').text.text).toBe(`Reason: ${worstReason}`);
    expect(blockById(buildAuditSummary(view({ ...viewIn('REVOKED'), reason: hugeReason })), 'reason').text.text).toMatch(/^Reason: x+…$/);
  });
});

describe('notices', () => {
  const cases: Array<[string, SlackMessage]> = [
    ['approvalRecordedNotice', approvalRecordedNotice(view({ approvals: [BOTH_APPROVALS[0]] }), 'U0APPROVER1')],
    ['deniedNotice', deniedNotice(viewIn('DENIED'))],
    ['grantedNotice', grantedNotice(viewIn('ACTIVE'))],
    ['grantedDirectMessage', grantedDirectMessage(viewIn('ACTIVE'))],
    ['grantFailedNotice', grantFailedNotice(viewIn('FAILED'))],
    ['revokeRequestedNotice', revokeRequestedNotice(viewIn('ACTIVE'), 'U0APPROVER2')],
    ['timedOutNotice', timedOutNotice(viewIn('TIMED_OUT'), 3_600)],
    ['duplicateAlertNotice', duplicateAlertNotice()],
  ];

  it.each(cases)('%s has non-empty fallback text that matches its block', (_name, message) => {
    expect(message.text.trim()).not.toBe('');
    expect(blockText(message)).toContain(message.text);
  });

  it('approvalRecordedNotice counts progress and says when the quorum is reached', () => {
    const partial = approvalRecordedNotice(view({ approvals: [BOTH_APPROVALS[0]] }), 'U0APPROVER1');
    expect(partial.text).toContain('<@U0APPROVER1>');
    expect(partial.text).toContain('1 of 2');
    expect(partial.text).toMatch(/1 more needed/);
    const done = approvalRecordedNotice(view({ approvals: BOTH_APPROVALS }), 'U0APPROVER2');
    expect(done.text).toContain('<@U0APPROVER2>');
    expect(done.text).toContain('2 of 2');
    expect(done.text).toMatch(/quorum reached/);
    expect(done.text).not.toMatch(/more needed/);
  });

  it('deniedNotice tells a withdrawal from a denial', () => {
    const denied = deniedNotice(viewIn('DENIED'));
    expect(denied.text).toMatch(/<@U0APPROVER1> denied BG-42/);
    const withdrawn = deniedNotice(view({ status: 'DENIED', decidedBy: REQUESTER }));
    expect(withdrawn.text).toMatch(/<@U0REQUESTER> withdrew BG-42/);
    expect(withdrawn.text).not.toMatch(/denied/);
  });

  it('grantedNotice and grantedDirectMessage name the access, login and expiry', () => {
    for (const message of [grantedNotice(viewIn('ACTIVE')), grantedDirectMessage(viewIn('ACTIVE'))]) {
      expect(message.text).toContain('`write`');
      expect(message.text).toContain('`payments-db`');
      expect(message.text).toContain('alice');
      expect(message.text).toContain(`<!date^${unix(EXPIRES)}^`);
    }
  });

  it('escapes user-provided text (login, failure reason)', () => {
    const hostile = view({ status: 'FAILED', requesterLogin: '<!channel>', failureReason: HOSTILE_REASON, expiresAt: EXPIRES });
    for (const message of [grantedNotice(hostile), grantedDirectMessage(hostile), grantFailedNotice(hostile)]) {
      expectNoRawHostileMarkup(message);
    }
    expect(grantFailedNotice(hostile).text).toContain(`\`${ESCAPED_HOSTILE_REASON}\``);
  });
});

describe('buildRequestModal', () => {
  type Option = { text: { text: string }; value: string };
  const inputBlock = (modal: ReturnType<typeof buildRequestModal>, predicate: (blockId: string) => boolean): AnyBlock => {
    const block = (modal.blocks as AnyBlock[]).find((candidate) => predicate(candidate.block_id));
    if (!block) throw new Error('block not found');
    return block;
  };
  const resourceBlock = (modal: ReturnType<typeof buildRequestModal>) => inputBlock(modal, (id) => id === RequestModal.blocks.resource.blockId);
  const roleBlock = (modal: ReturnType<typeof buildRequestModal>) => inputBlock(modal, (id) => id.startsWith(RequestModal.blocks.role.blockId));
  const ticketBlock = (modal: ReturnType<typeof buildRequestModal>) => inputBlock(modal, (id) => id === RequestModal.blocks.ticket.blockId);
  const values = (options: Option[]) => options.map((option) => option.value);

  it('is the registered modal, and private_metadata is just the channel id', () => {
    const modal = buildRequestModal({ requestable: requestableForRequester, channelId: 'C0INCIDENT' });
    expect(modal.type).toBe('modal');
    expect(modal.callback_id).toBe(RequestModal.callbackId);
    expect(modal.private_metadata).toBe('C0INCIDENT');
  });

  it('offers only the resources passed in, each once', () => {
    const modal = buildRequestModal({ requestable: requestableForPayments, channelId: 'C0INCIDENT' });
    // payments-db appears twice in the input (read and write) but once in the select; ledger is not requestable.
    expect(values(resourceBlock(modal).element.options)).toEqual(['payments-db', 'deploy-console']);
  });

  it('offers only the roles passed in for the selected resource', () => {
    const modal = buildRequestModal({ requestable: requestableForRequester, selectedResourceId: 'payments-db', channelId: 'C0' });
    const role = roleBlock(modal).element;
    expect(values(role.options)).toEqual(['read']); // write needs S0PAYMENTS
    expect(role.action_id).toBe(RequestModal.blocks.role.actionId);
  });

  it('selecting a resource shows that resource’s roles and preselects the resource', () => {
    const payments = buildRequestModal({ requestable: requestableForPayments, selectedResourceId: 'payments-db', channelId: 'C0' });
    expect(values(roleBlock(payments).element.options)).toEqual(['read', 'write']);
    expect(resourceBlock(payments).element.initial_option.value).toBe('payments-db');

    const deploy = buildRequestModal({ requestable: requestableForPayments, selectedResourceId: 'deploy-console', channelId: 'C0' });
    expect(values(roleBlock(deploy).element.options)).toEqual(['operator']);
    expect(resourceBlock(deploy).element.initial_option.value).toBe('deploy-console');
  });

  it('the resource select dispatches an action so the form can be re-rendered', () => {
    const resource = resourceBlock(buildRequestModal({ requestable: requestableForRequester, channelId: 'C0' }));
    expect(resource.dispatch_action).toBe(true);
    expect(resource.element.action_id).toBe(ActionIds.modalResource);
  });

  it('preselects the first resource when none is selected', () => {
    const modal = buildRequestModal({ requestable: requestableForPayments, channelId: 'C0' });
    expect(resourceBlock(modal).element.initial_option.value).toBe('payments-db');
    expect(values(roleBlock(modal).element.options)).toEqual(['read', 'write']);
  });

  it('the initial resource option is exactly one of the options (Slack rejects anything else)', () => {
    const resource = resourceBlock(buildRequestModal({ requestable: requestableForPayments, selectedResourceId: 'deploy-console', channelId: 'C0' })).element;
    expect(resource.options).toContainEqual(resource.initial_option);
  });

  it('the role block id changes with the selected resource', () => {
    const payments = roleBlock(buildRequestModal({ requestable: requestableForPayments, selectedResourceId: 'payments-db', channelId: 'C0' }));
    const deploy = roleBlock(buildRequestModal({ requestable: requestableForPayments, selectedResourceId: 'deploy-console', channelId: 'C0' }));
    expect(payments.block_id).not.toBe(deploy.block_id);
    expect(payments.block_id.startsWith(RequestModal.blocks.role.blockId)).toBe(true);
    expect(deploy.block_id.startsWith(RequestModal.blocks.role.blockId)).toBe(true);
  });

  it('the ticket is optional when no role of the selected resource requires one, required otherwise', () => {
    const deploy = buildRequestModal({ requestable: requestableForPayments, selectedResourceId: 'deploy-console', channelId: 'C0' });
    expect(ticketBlock(deploy).optional).toBe(true);
    const payments = buildRequestModal({ requestable: requestableForPayments, selectedResourceId: 'payments-db', channelId: 'C0' });
    expect(ticketBlock(payments).optional).toBe(false);
  });

  it('has duration, ticket and reason inputs under the registered ids', () => {
    const modal = buildRequestModal({ requestable: requestableForRequester, channelId: 'C0' });
    for (const key of ['duration', 'ticket', 'reason'] as const) {
      const { blockId, actionId } = RequestModal.blocks[key];
      const block = inputBlock(modal, (id) => id === blockId);
      expect(block.type).toBe('input');
      expect(block.element.action_id).toBe(actionId);
    }
  });

  it('keeps option texts within Slack’s 75-character limit', () => {
    const long = parsePolicy(
      `
resources:
  - id: r
    description: ${'a very long description '.repeat(10)}
    provider: { type: postgres, url: "postgresql://admin@db/r" }
    approvers: [U0APPROVER1]
    roles: [ { id: x } ]
`,
      'long.yaml',
      {},
    );
    const modal = buildRequestModal({ requestable: requestableRoles(long, REQUESTER, new Set()), channelId: 'C0' });
    for (const option of resourceBlock(modal).element.options as Option[]) expect(option.text.text.length).toBeLessThanOrEqual(75);
  });
});

describe('buildHelpText', () => {
  /** The part after "You can request:" (the usage lines above it carry a fixed example). */
  const roleList = (text: string) => {
    const marker = '*You can request:*';
    expect(text).toContain(marker);
    return text.slice(text.indexOf(marker) + marker.length);
  };

  it('lists each requestable role with its limits', () => {
    const text = roleList(buildHelpText(requestableForPayments));
    expect(text).toMatch(/`payments-db read` — up to 8h, 1 approval, ticket required/);
    expect(text).toMatch(/`payments-db write` — up to 1h, 2 approvals, ticket required/);
    expect(text).toMatch(/`deploy-console operator` — up to 2h, 1 approval(?!s)/);
    expect(text).not.toMatch(/deploy-console operator[^\n]*ticket required/);
  });

  it('lists only the roles passed in', () => {
    const text = roleList(buildHelpText(requestableForRequester));
    expect(text).toContain('payments-db read');
    expect(text).toContain('deploy-console operator');
    expect(text).not.toContain('payments-db write');
    expect(text).not.toContain('ledger');
  });

  it('says so when nothing is requestable', () => {
    const text = roleList(buildHelpText([]));
    expect(text).toMatch(/request nothing/);
    expect(text).not.toContain('payments-db');
  });

  it('explains the command forms', () => {
    const text = buildHelpText(requestableForRequester);
    expect(text).toContain('/breakglass <resource> <role> <duration> <ticket> <reason…>');
  });
});

describe('temporary login credentials', () => {
  const credentials = { username: 'bg_42_alice', password: 'Zq9-very-secret-password-0123456789', connectionHint: 'postgres://bg_42_alice@db.internal:5432/payments' };

  it('puts the password in the blocks only, never in the notification text', () => {
    const message = credentialsDirectMessage(viewIn('ACTIVE'), credentials);
    expect(blockText(message)).toContain(credentials.password);
    expect(blockText(message)).toContain('bg_42_alice');
    expect(blockText(message)).toContain(credentials.connectionHint);
    expect(blockText(message)).toContain(`<!date^${unix(EXPIRES)}^`);
    // Notification previews (lock screens, e-mail digests) show the fallback text.
    expect(message.text).not.toContain(credentials.password);
    expect(message.text).toContain('BG-42');
  });
});

describe('buildRevokeAlert', () => {
  const failing = view({
    status: 'REVOKING',
    approvals: BOTH_APPROVALS,
    grantedAt: GRANTED,
    expiresAt: EXPIRES,
    endReason: 'expired',
    revokeAttempts: 4,
    lastRevokeError: 'webhook answered 503: <!channel> down',
    revokeFailingSince: ENDED,
  });

  it('names the grant, the target, the error and offers Retry now on the request id', () => {
    const alert = buildRevokeAlert(failing, 2);
    const text = blockText(alert);
    expect(text).toContain('BG-42');
    expect(text).toContain('`write` on `payments-db`');
    expect(text).toContain('<@U0REQUESTER>');
    expect(text).toContain('4 failed attempts');
    expect(text).toContain('webhook answered 503: &lt;!channel&gt; down');
    expect(text).toContain('2 grants are failing to revoke right now');
    expect(interactiveElements(alert.blocks)).toEqual([expect.objectContaining({ action_id: ActionIds.retryRevoke, value: 'req_0001' })]);
    expect(alert.text).toMatch(/Revocation failing: BG-42/);
    expectNoRawHostileMarkup(alert);
  });

  it('says resolved and drops the button once the revocation holds', () => {
    const resolved = buildRevokeAlert({ ...failing, status: 'EXPIRED', endedAt: EXPIRES }, 0);
    expect(resolved.text).toMatch(/Resolved: BG-42 was revoked after 4 failed attempts/);
    expect(interactiveElements(resolved.blocks)).toEqual([]);
  });
});
