import type { RequestView } from '../../src/domain/request-view';
import type { HomeContent, Page, TimelineEvent } from '../../src/services/request-queries';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { buildAppHome, HOME_BLOCK_LIMIT, HOME_LIMITS } from '../../src/slack/blocks/app-home';
import { slackDate } from '../../src/slack/blocks/format';
import { buildRequestList, buildRequestStatus, LIST_LIMIT } from '../../src/slack/blocks/request-list';
import { buildTimeline, describeEvent } from '../../src/slack/blocks/request-timeline';
import { requestView } from '../support/request-view';

const NOW = new Date('2026-03-01T10:10:00Z');
const GRANTED = new Date('2026-03-01T10:00:00Z');
const EXPIRES = new Date('2026-03-01T10:30:00Z');

let counter = 0;
function view(overrides: Partial<RequestView> = {}): RequestView {
  counter++;
  return requestView({ id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`, humanId: `BG-${counter}`, ...overrides });
}

const active = (overrides: Partial<RequestView> = {}) => view({ status: 'ACTIVE', grantedAt: GRANTED, expiresAt: EXPIRES, ...overrides });
const page = (items: RequestView[], total = items.length): Page => ({ items, total });
const empty = page([]);

function home(overrides: Partial<HomeContent> = {}): HomeContent {
  return { userId: 'U0REQUESTER', isAdmin: false, myAccess: empty, myPending: empty, toApprove: empty, recent: [], allActive: null, toReview: empty, ...overrides };
}

type AnyBlock = Record<string, any>;
const textOf = (blocks: AnyBlock[]) => JSON.stringify(blocks);
const buttons = (blocks: AnyBlock[]) => blocks.flatMap((block) => (block.type === 'actions' ? block.elements : []));
const headers = (blocks: AnyBlock[]) => blocks.filter((block) => block.type === 'header').map((block) => block.text.text);

describe('App Home', () => {
  it('shows the requester their active access with time left, expiry, Extend and I’m done', () => {
    const grant = active();
    const blocks = buildAppHome(home({ myAccess: page([grant]) }), { now: NOW }).blocks as AnyBlock[];
    expect(headers(blocks)).toEqual(['Your active access', 'Waiting for your approval', 'Your recent requests']);
    expect(textOf(blocks)).toContain(`20m left (until ${slackDate(EXPIRES)})`.replace(/"/g, '\\"'));
    expect(buttons(blocks).map((b: AnyBlock) => [b.action_id, b.value])).toEqual([
      [ActionIds.extendAccess, grant.id],
      [ActionIds.finishAccess, grant.id],
    ]);
    expect(buttons(blocks)[1].confirm.title.text).toBe(`End ${grant.humanId} now?`);
  });

  it('offers no buttons on access that is still being granted or revoked', () => {
    const blocks = buildAppHome(home({ myAccess: page([view({ status: 'APPROVED' }), active({ status: 'REVOKING' })]) }), { now: NOW }).blocks as AnyBlock[];
    expect(buttons(blocks)).toEqual([]);
    expect(textOf(blocks)).toContain('being granted');
    expect(textOf(blocks)).toContain('being revoked');
  });

  it('offers Approve and Deny (with a confirmation) on requests waiting for the user, with the facts to decide on', () => {
    const pending = view({ requesterId: 'U0BOB', reason: 'rotate <!channel> keys', approvals: [{ approverId: 'U0APPROVER2', at: NOW }] });
    const blocks = buildAppHome(home({ userId: 'U0APPROVER1', toApprove: page([pending]) }), { now: NOW }).blocks as AnyBlock[];
    const [approve, deny] = buttons(blocks);
    expect([approve.action_id, approve.value]).toEqual([ActionIds.approve, pending.id]);
    expect([deny.action_id, deny.value]).toEqual([ActionIds.deny, pending.id]);
    expect(deny.confirm).toBeDefined();
    const text = textOf(blocks);
    expect(text).toContain('<@U0BOB>');
    expect(text).toContain('1 of 2');
    expect(text).toContain('INC-4211');
    expect(text).toContain('"fields":[{"type":"plain_text","text":"Reason: rotate <!channel> keys","emoji":false}]');
    expect(JSON.stringify(blocks.map((block) => block.text).filter((object) => object?.type === 'mrkdwn'))).not.toContain('<!channel>');
  });

  it('lists recent requests with their outcome', () => {
    const recent = [
      view({ status: 'EXPIRED', endedAt: EXPIRES }),
      view({ status: 'REVOKED', endedBy: 'U0APPROVER1', endedAt: EXPIRES }),
      view({ status: 'DENIED', decidedBy: 'U0APPROVER1' }),
      view({ status: 'DENIED', decidedBy: 'U0REQUESTER' }),
      view({ status: 'FAILED', failureReason: 'role missing' }),
      view({ status: 'TIMED_OUT' }),
    ];
    const text = textOf(buildAppHome(home({ recent }), { now: NOW }).blocks as AnyBlock[]);
    for (const words of ['expired', 'revoked early by <@U0APPROVER1>', 'denied by <@U0APPROVER1>', 'withdrawn', 'failed: `role missing`', 'expired without a decision']) {
      expect(text).toContain(words);
    }
  });

  it('says so when a section is empty', () => {
    const text = textOf(buildAppHome(home(), { now: NOW }).blocks as AnyBlock[]);
    expect(text).toContain('Nothing active');
    expect(text).toContain('Nothing is waiting for your approval');
    expect(text).toContain('No finished requests yet');
  });

  it('shows admins all active access, failing revocations included; others do not get the section', () => {
    const failing = active({ status: 'REVOKING', revokeAttempts: 4, lastRevokeError: 'connection refused', revokeFailingSince: NOW, requesterId: 'U0BOB' });
    const adminBlocks = buildAppHome(home({ userId: 'U0ADMIN', isAdmin: true, allActive: page([active(), failing]) }), { now: NOW }).blocks as AnyBlock[];
    expect(headers(adminBlocks)).toContain('All active access');
    expect(textOf(adminBlocks)).toContain('revocation failing (4 attempts): `connection refused`');
    expect(textOf(adminBlocks)).toContain('<@U0BOB>');
    expect(headers(buildAppHome(home(), { now: NOW }).blocks as AnyBlock[])).not.toContain('All active access');
  });

  it('puts the answer to a Home click at the top', () => {
    const blocks = buildAppHome(home(), { now: NOW, notice: 'You approved BG-7; 1 more needed.' }).blocks as AnyBlock[];
    expect(blocks[0].text.text).toBe('You approved BG-7; 1 more needed.');
    expect(blocks[1].type).toBe('divider');
  });

  it(`stays within Slack's ${HOME_BLOCK_LIMIT} blocks when everything is full, and says how many more there are`, () => {
    const many = (count: number, make: () => RequestView) => Array.from({ length: count }, make);
    const content = home({
      isAdmin: true,
      myAccess: page(
        many(HOME_LIMITS.myAccess, () => active()),
        57,
      ),
      myPending: page(
        many(HOME_LIMITS.myPending, () => view()),
        9,
      ),
      toApprove: page(
        many(HOME_LIMITS.toApprove, () => view({ requesterId: 'U0BOB' })),
        300,
      ),
      recent: many(HOME_LIMITS.recent, () => view({ status: 'EXPIRED', endedAt: EXPIRES })),
      allActive: page(
        many(HOME_LIMITS.allActive, () => active()),
        10_000,
      ),
      toReview: page(
        many(HOME_LIMITS.toReview, () =>
          active({
            emergency: true,
            review: { via: 'command', reviewers: ['U0SEC'], dueAt: NOW, verdict: null, reviewedBy: null, reviewedAt: null, flagReason: null, overdueNotices: 2 },
          }),
        ),
        12,
      ),
    });
    const blocks = buildAppHome(content, { now: NOW, notice: 'a notice' }).blocks as AnyBlock[];
    expect(blocks.length).toBeLessThanOrEqual(HOME_BLOCK_LIMIT);
    const text = textOf(blocks);
    for (const more of [47, 4, 290, 9980]) expect(text).toContain(`and ${more} more — use \`/breakglass list\``);
    // Even when a caller passes more items than the limits, the builder caps them.
    const overfull = home({ myAccess: page(many(200, () => active())), toApprove: page(many(200, () => view())) });
    expect((buildAppHome(overfull, { now: NOW }).blocks as AnyBlock[]).length).toBeLessThanOrEqual(HOME_BLOCK_LIMIT);
  });
});

describe('/breakglass list and status answers', () => {
  it('lists requests with who asked and where they stand, with fallback text', () => {
    const requests = [active(), view({ approvals: [{ approverId: 'U0APPROVER1', at: NOW }] })];
    const message = buildRequestList(page(requests), NOW);
    expect(message.text).toBe(`2 active or pending requests: ${requests[0].humanId} (active), ${requests[1].humanId} (pending)`);
    const text = textOf(message.blocks as AnyBlock[]);
    expect(text).toContain('20m left');
    expect(text).toContain('waiting for approval (1 of 2)');
    expect(text).toContain('<@U0REQUESTER>');
  });

  it('keeps within 50 blocks and counts the rest', () => {
    const message = buildRequestList(
      page(
        Array.from({ length: LIST_LIMIT }, () => view()),
        200,
      ),
      NOW,
    );
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(textOf(message.blocks as AnyBlock[])).toContain(`and ${200 - LIST_LIMIT} more`);
  });

  it('says when there is nothing to list', () => {
    expect(buildRequestList(empty, NOW).text).toMatch(/^No active or pending requests that you can see/);
  });

  it('shows the status without buttons, which only act on the channel message', () => {
    const request = view();
    const message = buildRequestStatus(request);
    const blocks = message.blocks as AnyBlock[];
    expect(blocks.some((block) => block.type === 'actions')).toBe(false);
    expect(textOf(blocks)).toContain('Waiting for 2 more approvals');
    expect(textOf(blocks)).toContain(`/breakglass audit ${request.humanId}`);
    expect(message.text).toContain(request.humanId);
  });
});

describe('/breakglass audit timeline', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 10, minute));
  const event = (action: string, actor = 'system', details: Record<string, unknown> = {}, minute = 0): TimelineEvent => ({ at: at(minute), actor, action, details });

  it.each([
    [
      event('REQUESTED', 'U0REQUESTER', { role: 'write', resource: 'payments-db', durationSeconds: 1800, ticket: 'INC-1' }),
      '<@U0REQUESTER> requested `write` on `payments-db` for 30m (ticket `INC-1`)',
    ],
    [event('APPROVAL_RECORDED', 'U0APPROVER1', { approvals: 1, required: 2 }), '<@U0APPROVER1> approved (1 of 2)'],
    [event('QUORUM_REACHED', 'U0APPROVER2', { expiresAt: EXPIRES.toISOString() }), `Enough approvals; access until ${slackDate(EXPIRES)}`],
    [event('GRANTED', 'system', { grant: 'payments_write', login: 'alice' }), 'Granted `payments_write` to `alice` and verified on the target'],
    [event('DENIED', 'U0APPROVER1'), '<@U0APPROVER1> denied the request'],
    [event('WITHDRAWN', 'U0REQUESTER'), '<@U0REQUESTER> withdrew the request'],
    [event('REVOKE_REQUESTED', 'U0REQUESTER'), '<@U0REQUESTER> asked to revoke the access now'],
    [event('EXPIRY_REACHED'), 'Expiry time reached; revoking'],
    [event('REVOKE_FAILED', 'system', { attempt: 2, error: 'connection <refused>' }), 'Revocation attempt 2 failed: `connection &lt;refused&gt;`'],
    [event('EXPIRED'), 'Access revoked at expiry and verified gone'],
    [event('REVOKED', 'system', { keptOnTargetFor: 'BG-9' }), 'Access revoked early and verified gone (left in place on the target for `BG-9`, which still holds it)'],
    [event('TIMED_OUT', 'system', { requestTtlSeconds: 3600 }), 'Nobody decided within 1h; the request timed out'],
    [
      event('EXTENDED', 'U0REQUESTER', { from: GRANTED.toISOString(), to: EXPIRES.toISOString() }),
      `<@U0REQUESTER> extended the access from ${slackDate(GRANTED)} to ${slackDate(EXPIRES)}`,
    ],
    [event('REMINDER_SENT'), 'Reminder sent to the requester'],
    [event('EXTENSION_REQUESTED', 'U0REQUESTER'), '<@U0REQUESTER> asked for more time'],
    [event('EXTENSION_REQUESTED', 'U0REQUESTER', { extendBySeconds: 1800, approvalsRequired: 1 }), '<@U0REQUESTER> asked for 30m more (1 approval needed)'],
  ])('describes %j', (auditEvent, expected) => {
    expect(describeEvent(auditEvent)).toBe(expected);
  });

  it('lists every event with its time, oldest first, and says where the request stands', () => {
    const request = view({ status: 'EXPIRED' });
    const message = buildTimeline(request, [event('REQUESTED', 'U0REQUESTER', {}, 1), event('EXPIRED', 'system', {}, 31)]);
    const text = textOf(message.blocks as AnyBlock[]);
    expect(text.indexOf(slackDate(at(1)))).toBeLessThan(text.indexOf(slackDate(at(31))));
    expect(text).toContain('now expired');
    expect(message.text).toBe(`Timeline of ${request.humanId}: 2 events, now expired`);
  });

  it('summarises long runs of failed revocation attempts and stays within the message limits', () => {
    const failures = Array.from({ length: 500 }, (_, index) => event('REVOKE_FAILED', 'system', { attempt: index + 1, error: 'x'.repeat(250) }));
    const message = buildTimeline(active({ status: 'REVOKING' }), [event('GRANTED'), ...failures, event('REVOKED')]);
    const text = textOf(message.blocks as AnyBlock[]);
    expect(text).toContain('Revocation attempt 3 failed');
    expect(text).toContain('… 494 more failed attempts …');
    expect(text).not.toContain('Revocation attempt 4 failed');
    expect(text).toContain('Revocation attempt 498 failed');
    expect(text).toContain('Access revoked early');
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    for (const block of message.blocks as AnyBlock[]) if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
  });

  it('keeps a very long history within 50 blocks of at most 3000 characters each', () => {
    const events = Array.from({ length: 2000 }, (_, index) => event(index % 2 ? 'APPROVAL_RECORDED' : 'RETRY_REQUESTED', `U0PERSON${index}`));
    const message = buildTimeline(view(), events);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    for (const block of message.blocks as AnyBlock[]) if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    expect(textOf(message.blocks as AnyBlock[])).toContain('the rest is in the AuditEvent table');
  });
});
