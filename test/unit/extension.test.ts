import { checkExtensionApproval, checkExtensionAsk, checkExtensionDenial, reminderTime, type ExtensionAsk } from '../../src/domain/extension-rules';
import type { ExtensionView } from '../../src/domain/extension-view';
import type { RequestView } from '../../src/domain/request-view';
import { parsePolicy, PolicyError } from '../../src/policy/load-policy';
import { findRole } from '../../src/policy/policy-queries';
import { ActionIds, ExtendModal } from '../../src/slack/blocks/action-ids';
import { buildExtendModal, buildExtensionMessage, buildReminderMessage, extensionOutcomeNotice } from '../../src/slack/blocks/extension';

const GRANTED = new Date('2026-03-01T10:00:00Z');
const EXPIRES = new Date('2026-03-01T11:00:00Z');

describe('policy: remindBefore and extension', () => {
  const yaml = (role: string, defaults = '') => `
defaults: { approvals: 1, maxDuration: 1h ${defaults} }
resources:
  - id: db
    provider: { type: webhook, url: "https://hooks.example.com/bg", secret: "s3cret-s3cret" }
    approvers: [U0A, U0B, U0C]
    roles: [ ${role} ]
`;
  const roleOf = (text: string) => findRole(parsePolicy(text, 'test.yaml', {}), 'db', 'r')!.role;

  it('defaults to a 10 minute reminder and extensions approved like the request, up to maxDuration in total', () => {
    const role = roleOf(yaml('{ id: r, approvals: 2, maxDuration: 2h }'));
    expect(role.remindBeforeSeconds).toBe(600);
    expect(role.extension).toEqual({ approvals: 2, maxTotalSeconds: 7_200 });
  });

  it('resolves each key on its own, role over defaults', () => {
    const role = roleOf(yaml('{ id: r, extension: { maxTotal: 3h } }', ', remindBefore: 5m, extension: { approvals: 0 }'));
    expect(role.remindBeforeSeconds).toBe(300);
    expect(role.extension).toEqual({ approvals: 0, maxTotalSeconds: 10_800 });
  });

  it.each([
    ['{ id: r, extension: { maxTotal: 30m } }', /extension.maxTotal.*shorter than maxDuration/],
    ['{ id: r, extension: { approvals: -1 } }', /extension.approvals.*at least 0/],
    ['{ id: r, extension: { approvals: 4 } }', /needs 4 approvals but only 3 approvers/],
    ['{ id: r, extension: { approval: 1 } }', /approval/],
    ['{ id: r, remindBefore: soon }', /remindBefore.*not a duration/],
  ])('rejects %s', (role, message) => {
    expect(() => parsePolicy(yaml(role), 'test.yaml', {})).toThrow(PolicyError);
    expect(() => parsePolicy(yaml(role), 'test.yaml', {})).toThrow(message);
  });
});

describe('checkExtensionAsk', () => {
  const ask = (overrides: Partial<ExtensionAsk> = {}): ExtensionAsk => ({
    status: 'ACTIVE',
    humanId: 'BG-7',
    requesterId: 'U0REQ',
    actorId: 'U0REQ',
    grantedAt: GRANTED,
    expiresAt: EXPIRES,
    durationText: '30m',
    rule: { approvals: 1, maxTotalSeconds: 7_200 },
    ...overrides,
  });

  it('adds the time to the current expiry', () => {
    expect(checkExtensionAsk(ask())).toEqual({ ok: true, extendBySeconds: 1_800, newExpiresAt: new Date('2026-03-01T11:30:00Z') });
  });

  it('allows exactly up to maxTotal and says how much is left beyond it', () => {
    expect(checkExtensionAsk(ask({ durationText: '1h' })).ok).toBe(true);
    const refused = checkExtensionAsk(ask({ durationText: '1h1s' }));
    expect(refused).toMatchObject({ ok: false, code: 'too_long' });
    expect(!refused.ok && refused.message).toMatch(/2h in total.*at most 1h more/);
    const full = checkExtensionAsk(ask({ rule: { approvals: 1, maxTotalSeconds: 3_600 } }));
    expect(!full.ok && full.message).toMatch(/no more time/);
  });

  it.each([
    [{ actorId: 'U0OTHER' }, 'not_requester'],
    [{ status: 'REVOKING' as const }, 'not_active'],
    [{ status: 'PENDING' as const, grantedAt: null, expiresAt: null }, 'not_active'],
    [{ rule: null }, 'no_rule'],
    [{ durationText: 'later' }, 'bad_duration'],
    [{ durationText: '0m' }, 'bad_duration'],
  ])('refuses %o with %s', (overrides, code) => {
    expect(checkExtensionAsk(ask(overrides))).toMatchObject({ ok: false, code });
  });
});

describe('extension decisions', () => {
  const decision = { status: 'PENDING' as const, requesterId: 'U0REQ', actorId: 'U0A', actorIsApprover: true, approvedBy: [] as string[] };

  it('lets distinct approvers approve once, never the requester', () => {
    expect(checkExtensionApproval(decision).ok).toBe(true);
    expect(checkExtensionApproval({ ...decision, actorId: 'U0REQ' })).toMatchObject({ code: 'self_approval' });
    expect(checkExtensionApproval({ ...decision, actorIsApprover: false })).toMatchObject({ code: 'not_approver' });
    expect(checkExtensionApproval({ ...decision, approvedBy: ['U0A'] })).toMatchObject({ code: 'already_approved' });
    expect(checkExtensionApproval({ ...decision, status: 'APPLIED' })).toMatchObject({ code: 'not_pending' });
  });

  it('lets approvers deny and the requester withdraw', () => {
    expect(checkExtensionDenial(decision)).toEqual({ ok: true, withdrawn: false });
    expect(checkExtensionDenial({ ...decision, actorId: 'U0REQ', actorIsApprover: false })).toEqual({ ok: true, withdrawn: true });
    expect(checkExtensionDenial({ ...decision, actorIsApprover: false })).toMatchObject({ code: 'not_approver' });
    expect(checkExtensionDenial({ ...decision, status: 'CANCELLED' })).toMatchObject({ code: 'not_pending' });
  });
});

describe('reminderTime', () => {
  it('is remindBefore ahead of the expiry, or none when that is not after the start', () => {
    expect(reminderTime(GRANTED, EXPIRES, 600)).toEqual(new Date('2026-03-01T10:50:00Z'));
    expect(reminderTime(GRANTED, EXPIRES, 3_600)).toBeNull();
    expect(reminderTime(new Date('2026-03-01T10:55:00Z'), EXPIRES, 600)).toBeNull();
  });
});

describe('extension blocks', () => {
  const request = {
    id: '11111111-1111-4111-8111-111111111111',
    humanId: 'BG-7',
    status: 'ACTIVE',
    requesterId: 'U0REQ',
    resourceId: 'db',
    roleId: 'write',
    channelId: 'C0INC',
    messageTs: '1.2',
    expiresAt: EXPIRES,
  } as RequestView;
  const extension: ExtensionView = {
    id: '22222222-2222-4222-8222-222222222222',
    requestId: request.id,
    requestedBy: 'U0REQ',
    extendBySeconds: 1_800,
    status: 'PENDING',
    requiredApprovals: 2,
    approvals: [{ approverId: 'U0A', at: GRANTED }],
    messageTs: null,
    createdAt: GRANTED,
    decidedAt: null,
    decidedBy: null,
    fromExpiresAt: null,
    toExpiresAt: null,
    refusalReason: null,
  };
  const buttons = (blocks: any[]) => blocks.flatMap((block) => block.elements ?? []).filter((element: any) => element.type === 'button');

  it('asks in the thread with Approve / Deny carrying the extension id, and drops them once decided', () => {
    const pending = buildExtensionMessage(request, extension);
    expect(pending.text).toContain('BG-7');
    expect(JSON.stringify(pending.blocks)).toContain('1 more approval');
    expect(buttons(pending.blocks).map((b: any) => [b.action_id, b.value])).toEqual([
      [ActionIds.approveExtension, extension.id],
      [ActionIds.denyExtension, extension.id],
    ]);
    const applied = buildExtensionMessage(request, { ...extension, status: 'APPLIED', toExpiresAt: new Date('2026-03-01T11:30:00Z') });
    expect(buttons(applied.blocks)).toEqual([]);
    expect(JSON.stringify(applied.blocks)).toContain('Extended until');
    expect(extensionOutcomeNotice(request, { ...extension, status: 'DENIED', decidedBy: 'U0B' }).text).toContain('Denied by <@U0B>');
    expect(extensionOutcomeNotice(request, { ...extension, status: 'DENIED', decidedBy: 'U0REQ' }).text).toContain('Withdrawn');
  });

  it("reminds with Extend and I'm done, or only I'm done when nothing more is allowed", () => {
    const reminder = buildReminderMessage(request, { maxMoreSeconds: 3_600, approvals: 1 });
    expect(reminder.text).toBe('BG-7 ends soon');
    expect(buttons(reminder.blocks).map((b: any) => [b.action_id, b.value])).toEqual([
      [ActionIds.extendAccess, request.id],
      [ActionIds.finishAccess, request.id],
    ]);
    expect(JSON.stringify(reminder.blocks)).toContain('an approver has to agree');
    const atMaximum = buildReminderMessage(request, { maxMoreSeconds: 0, approvals: 1 });
    expect(buttons(atMaximum.blocks).map((b: any) => b.action_id)).toEqual([ActionIds.finishAccess]);
  });

  it('the Extend form carries only the request id and names the limit', () => {
    const modal = buildExtendModal(request, { maxMoreSeconds: 5_400, approvals: 0 });
    expect(modal.callback_id).toBe(ExtendModal.callbackId);
    expect(modal.private_metadata).toBe(request.id);
    expect(JSON.stringify(modal.blocks)).toContain('up to 1h 30m');
    expect(JSON.stringify(modal.blocks)).toContain(ExtendModal.blocks.duration.blockId);
    expect((modal as { submit?: { text: string } }).submit?.text).toBe('Extend');
    expect((buildExtendModal(request, { maxMoreSeconds: 60, approvals: 2 }) as { submit?: { text: string } }).submit?.text).toBe('Ask');
  });
});
