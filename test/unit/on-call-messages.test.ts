import { checkApproval, checkDenial, type DecisionContext } from '../../src/domain/approval-rules';
import { checkExtensionApproval, checkExtensionDenial } from '../../src/domain/extension-rules';
import type { OnCallNow } from '../../src/domain/on-call';
import type { RequestView } from '../../src/domain/request-view';
import { buildApprovalMessage } from '../../src/slack/blocks/approval-message';
import { requestView } from '../support/request-view';

/** What people see of on-call approvers: the approval message (pure builder, resolved people passed in) and the
 * refusal of a click that cannot be checked while PagerDuty is down. */
function view(overrides: Partial<RequestView> = {}): RequestView {
  return requestView({
    id: 'req_0001',
    humanId: 'BG-7',
    roleId: 'read',
    reason: 'disk full',
    ticket: null,
    messageTs: null,
    requiredApprovals: 1,
    approverPrincipals: ['pagerduty:PABC123', 'schedule:primary', 'U0APPROVER1', 'S0SRE'],
    createdAt: new Date('2026-03-01T09:00:00Z'),
    ...overrides,
  });
}

const contextText = (blocks: any[], blockId: string): string | undefined => blocks.find((block) => block.block_id === blockId)?.elements[0].text;

describe('buildApprovalMessage with on-call approvers', () => {
  const onCall: OnCallNow[] = [
    { principal: 'pagerduty:PABC123', userIds: ['U0ANNA', 'U0BEN'] },
    { principal: 'schedule:primary', userIds: ['U0BEN'] },
  ];

  it('names whoever is on call, and mentions them in the notification text once each', () => {
    const message = buildApprovalMessage(view(), onCall);
    expect(contextText(message.blocks as any[], 'approvers')).toBe(
      'Needs 1 distinct approval from whoever is on call for PagerDuty schedule PABC123 (now <@U0ANNA>, <@U0BEN>), whoever is on call for rotation primary (now <@U0BEN>), <@U0APPROVER1>, <!subteam^S0SRE>',
    );
    expect(message.text).toMatch(/ — pending \(on call: <@U0ANNA>, <@U0BEN>\)$/);
    expect(contextText(message.blocks as any[], 'on_call_unreachable')).toBeUndefined();
  });

  it('says when PagerDuty could not be reached and that the other approvers still count', () => {
    const message = buildApprovalMessage(view(), [{ principal: 'pagerduty:PABC123', unreachable: true }, onCall[1]]);
    expect(contextText(message.blocks as any[], 'on_call_unreachable')).toBe(
      ":warning: PagerDuty schedule PABC123 could not be reached, so who is on call is unknown; the role's other approvers can still approve.",
    );
    expect(contextText(message.blocks as any[], 'approvers')).toContain(
      'whoever is on call for PagerDuty schedule PABC123, whoever is on call for rotation primary (now <@U0BEN>)',
    );
    expect(message.text).toMatch(/\(on call: <@U0BEN>\)$/);
  });

  it('says when nobody is on call, and mentions nobody once the request is decided', () => {
    expect(contextText(buildApprovalMessage(view(), [{ principal: 'schedule:primary', userIds: [] }]).blocks as any[], 'approvers')).toContain(
      'whoever is on call for rotation primary (nobody right now)',
    );
    const decided = buildApprovalMessage(view({ status: 'DENIED', decidedBy: 'U0APPROVER1' }));
    expect(contextText(decided.blocks as any[], 'approvers')).toContain('whoever is on call for PagerDuty schedule PABC123, whoever is on call for rotation primary, ');
    expect(decided.text).not.toContain('on call:');
  });
});

describe('a click while PagerDuty cannot say who is on call', () => {
  const context = (overrides: Partial<DecisionContext>): DecisionContext => ({
    status: 'PENDING',
    requesterId: 'U0REQUESTER',
    actorId: 'U0ANNA',
    actorIsApprover: false,
    approvedBy: [],
    ...overrides,
  });

  it('is refused with what happened instead of "not an approver", for approve and deny', () => {
    const unchecked = context({ onCallUnchecked: ['pagerduty:PABC123'] });
    const message =
      "PagerDuty cannot be reached right now, so I cannot check whether you are on call (PagerDuty schedule PABC123); nothing was recorded. The role's other approvers can still decide, or try again in a minute.";
    expect(checkApproval(unchecked)).toEqual({ ok: false, code: 'on_call_unknown', message });
    expect(checkDenial(unchecked)).toEqual({ ok: false, code: 'on_call_unknown', message });
  });

  it('is refused the same way on an extension', () => {
    const decision = { status: 'PENDING' as const, requesterId: 'U0REQUESTER', actorId: 'U0ANNA', actorIsApprover: false, approvedBy: [], onCallUnchecked: ['pagerduty:PABC123'] };
    expect(checkExtensionApproval(decision)).toMatchObject({ ok: false, code: 'on_call_unknown' });
    expect(checkExtensionDenial(decision)).toMatchObject({ ok: false, code: 'on_call_unknown' });
    expect(checkExtensionApproval({ ...decision, onCallUnchecked: [] })).toMatchObject({ ok: false, code: 'not_approver' });
  });

  it('does not stand in the way of an approver otherwise known, nor of the requester withdrawing', () => {
    expect(checkApproval(context({ actorIsApprover: true, onCallUnchecked: ['pagerduty:PABC123'] }))).toEqual({ ok: true });
    expect(checkDenial(context({ actorId: 'U0REQUESTER', onCallUnchecked: ['pagerduty:PABC123'] }))).toEqual({ ok: true, withdrawn: true });
    expect(checkApproval(context({ onCallUnchecked: [] }))).toMatchObject({ code: 'not_approver' });
  });
});
