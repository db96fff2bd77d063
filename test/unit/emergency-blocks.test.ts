import type { ReviewView } from '../../src/domain/emergency-rules';
import type { RequestView } from '../../src/domain/request-view';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { buildAppHome } from '../../src/slack/blocks/app-home';
import { buildApprovalMessage } from '../../src/slack/blocks/approval-message';
import { buildAuditSummary } from '../../src/slack/blocks/audit-summary';
import { buildEmergencyAlert, buildEmergencyConfirmModal, buildReviewOutcome, readEmergencyMetadata } from '../../src/slack/blocks/emergency';
import { requestView } from '../support/request-view';

const NOW = new Date('2026-03-01T10:10:00Z');
const DUE = new Date('2026-03-02T10:00:00Z');
const review = (overrides: Partial<ReviewView> = {}): ReviewView => ({
  via: 'command',
  reviewers: ['U0SEC', 'S0SECURITY'],
  dueAt: DUE,
  verdict: null,
  reviewedBy: null,
  reviewedAt: null,
  flagReason: null,
  overdueNotices: 0,
  ...overrides,
});

function view(overrides: Partial<RequestView> = {}): RequestView {
  return requestView({
    humanId: 'BG-9',
    status: 'ACTIVE',
    reason: 'payouts down <!here> *now*',
    ticket: 'INC-1',
    requiredApprovals: 1,
    createdAt: new Date('2026-03-01T10:00:00Z'),
    decidedAt: new Date('2026-03-01T10:00:00Z'),
    decidedBy: 'U0REQUESTER',
    grantedAt: new Date('2026-03-01T10:00:01Z'),
    expiresAt: new Date('2026-03-01T10:30:00Z'),
    emergency: true,
    review: review(),
    ...overrides,
  });
}

const json = (value: unknown) => JSON.stringify(value);
const actionIds = (blocks: any[]) =>
  blocks.flatMap((block) => [...(block.type === 'actions' ? block.elements : []), ...(block.accessory ? [block.accessory] : [])]).map((e: any) => e.action_id);
const empty = { items: [], total: 0 };

describe('emergency access blocks', () => {
  it('marks the request message and carries the review buttons until reviewed', () => {
    const message = buildApprovalMessage(view(), [], NOW);
    expect(json(message)).toContain('EMERGENCY ACCESS (no approval)');
    expect(json(message)).toContain('reviewed afterwards by <@U0SEC>, <!subteam^S0SECURITY>');
    expect(actionIds(message.blocks)).toEqual([ActionIds.revokeNow, ActionIds.emergencyJustified, ActionIds.emergencyFlag]);
    const reviewed = buildApprovalMessage(view({ review: review({ verdict: 'justified', reviewedBy: 'U0SEC', reviewedAt: NOW }) }), [], NOW);
    expect(actionIds(reviewed.blocks)).toEqual([ActionIds.revokeNow]);
    expect(json(reviewed)).toContain('Reviewed as justified by <@U0SEC>');
  });

  it('keeps user text literal in the alert and the flag outcome', () => {
    const alert = buildEmergencyAlert(view(), NOW);
    const reason = alert.blocks.find((block: any) => block.type === 'section' && block.text?.type === 'plain_text') as any;
    expect(reason.text.text).toBe('Reason: payouts down <!here> *now*');
    const flagged = buildReviewOutcome(view({ review: review({ verdict: 'flagged', reviewedBy: 'U0SEC', reviewedAt: NOW, flagReason: 'not an incident <@U0BOSS>' }) }), NOW);
    expect(json(flagged)).toContain('FLAGGED* by <@U0SEC>');
    expect((flagged.blocks[1] as any).text).toMatchObject({ type: 'plain_text', text: 'Why: not an incident <@U0BOSS>' });
  });

  it('shows an overdue review, and the review state in the audit summary', () => {
    const overdue = buildEmergencyAlert(view({ review: review({ dueAt: new Date('2026-03-01T10:05:00Z'), overdueNotices: 1 }) }), NOW);
    expect(json(overdue)).toContain('Review OVERDUE');
    const summary = buildAuditSummary(
      view({ status: 'EXPIRED', endReason: 'expired', endedAt: NOW, review: review({ verdict: 'flagged', reviewedBy: 'U0SEC', flagReason: 'why' }) }),
      { now: NOW },
    );
    expect(json(summary)).toContain('nobody — emergency access');
    expect(json(summary)).toContain('Flagged by <@U0SEC>');
  });

  it('carries the request through the confirmation form and reads back only what it wrote', () => {
    const request = { via: 'command' as const, channelId: 'C0INCIDENT', resourceId: 'payments-db', roleId: 'write', durationText: '30m', ticket: null, reason: 'down' };
    const modal = buildEmergencyConfirmModal({ request, durationSeconds: 1800, reviewers: ['U0SEC'], alertChannels: ['C0SECURITY'], reviewWithinSeconds: 86_400 });
    expect(readEmergencyMetadata(modal.private_metadata!)).toEqual(request);
    expect(json(modal)).toContain('without approval');
    expect(readEmergencyMetadata('{"via":"other"}')).toBeNull();
    expect(readEmergencyMetadata('not json')).toBeNull();
  });

  it('gives the requester Break glass now in the App Home once emergency.after has passed, and reviewers their list', () => {
    const waiting = (breakGlassAt: Date) => view({ status: 'PENDING', emergency: false, review: null, breakGlassAt });
    const content = (items: RequestView[], toReview: RequestView[] = []) => ({
      userId: 'U0REQUESTER',
      isAdmin: false,
      myAccess: empty,
      myPending: { items, total: items.length },
      toApprove: empty,
      recent: [],
      allActive: null,
      toReview: { items: toReview, total: toReview.length },
    });
    expect(actionIds(buildAppHome(content([waiting(new Date('2026-03-01T10:20:00Z'))]), { now: NOW }).blocks)).not.toContain(ActionIds.breakGlassNow);
    const home = buildAppHome(content([waiting(new Date('2026-03-01T10:05:00Z'))], [view()]), { now: NOW });
    expect(actionIds(home.blocks)).toEqual(expect.arrayContaining([ActionIds.breakGlassNow, ActionIds.emergencyJustified, ActionIds.emergencyFlag]));
    expect(json(home)).toContain('Emergency access to review');
  });
});
