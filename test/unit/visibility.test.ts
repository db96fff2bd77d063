import { awaitsApprovalFrom, canSee, isApproverOf, notVisibleMessage, viewerOf } from '../../src/domain/visibility';
import { parsePolicy } from '../../src/policy/load-policy';

const policy = parsePolicy(
  `
admins: [U0ADMIN]
resources:
  - id: payments-db
    provider: { type: postgres, url: "postgresql://admin@db/payments" }
    approvers: [U0APPROVER1, S0SRELEADS]
    roles:
      - { id: read }
      - { id: write, approvers: [U0APPROVER2] }
`,
  'breakglass.yaml',
  {},
);

const read = { requesterId: 'U0REQUESTER', resourceId: 'payments-db', roleId: 'read' };
const write = { ...read, roleId: 'write' };
const viewer = (userId: string, groups: string[] = []) => viewerOf(policy, userId, new Set(groups));

describe('who sees a request', () => {
  it('shows the requester their own request', () => {
    expect(canSee(policy, viewer('U0REQUESTER'), write)).toBe(true);
  });

  it("shows a role's requests to its approvers, named or through a user group, and to nobody else's", () => {
    expect(canSee(policy, viewer('U0APPROVER1'), read)).toBe(true);
    expect(canSee(policy, viewer('U0LEAD', ['S0SRELEADS']), read)).toBe(true);
    // write has its own approver list: the resource's approvers are not approvers of it.
    expect(canSee(policy, viewer('U0APPROVER1'), write)).toBe(false);
    expect(canSee(policy, viewer('U0LEAD', ['S0SRELEADS']), write)).toBe(false);
    expect(canSee(policy, viewer('U0APPROVER2'), write)).toBe(true);
  });

  it('shows admins everything', () => {
    expect(viewer('U0ADMIN').isAdmin).toBe(true);
    expect(canSee(policy, viewer('U0ADMIN'), write)).toBe(true);
    expect(canSee(policy, viewer('U0ADMIN'), { ...read, resourceId: 'gone-from-the-policy' })).toBe(true);
  });

  it('hides requests from everyone else, and requests of roles the policy no longer has from their old approvers', () => {
    expect(canSee(policy, viewer('U0OUTSIDER'), read)).toBe(false);
    expect(isApproverOf(policy, viewer('U0APPROVER1'), { ...read, roleId: 'removed' })).toBe(false);
    expect(canSee(policy, viewer('U0REQUESTER'), { ...read, roleId: 'removed' })).toBe(true);
  });

  it('offers a request for approval to approvers who are not the requester and have not approved yet', () => {
    expect(awaitsApprovalFrom(policy, viewer('U0APPROVER1'), { ...read, approvedBy: [] })).toBe(true);
    expect(awaitsApprovalFrom(policy, viewer('U0APPROVER1'), { ...read, approvedBy: ['U0APPROVER1'] })).toBe(false);
    expect(awaitsApprovalFrom(policy, viewer('U0APPROVER1'), { ...read, requesterId: 'U0APPROVER1', approvedBy: [] })).toBe(false);
    expect(awaitsApprovalFrom(policy, viewer('U0ADMIN'), { ...read, approvedBy: [] })).toBe(false);
  });

  it('says the same thing whether a request is missing or hidden', () => {
    expect(notVisibleMessage('BG-9')).toMatch(/^I cannot find BG-9, or you are not allowed to see it/);
  });
});
