import { parsePolicy } from '../../src/policy/load-policy';
import { requestableRoles } from '../../src/policy/policy-queries';
import { RequestModal } from '../../src/slack/blocks/action-ids';
import { buildRequestModal } from '../../src/slack/blocks/request-modal';

const policy = parsePolicy(
  `
resources:
  - id: payments-db
    provider: { type: postgres, url: "postgresql://admin@db/payments" }
    approvers: [U0APPROVER1]
    roles:
      - { id: read, requireTicket: false }
      - { id: write, requireTicket: true }
      - { id: admin, requireTicket: true, requesters: [U0SOMEONEELSE] }
  - id: ledger
    provider: { type: postgres, url: "postgresql://admin@db/ledger" }
    approvers: [U0APPROVER1]
    roles: [ { id: audit, requireTicket: true } ]
`,
  'breakglass.yaml',
  {},
);

const ticketBlock = (resourceId: string) => {
  const modal = buildRequestModal({ requestable: requestableRoles(policy, 'U0REQUESTER', new Set()), selectedResourceId: resourceId, channelId: 'C0' });
  return modal.blocks.find((block) => block.block_id === RequestModal.blocks.ticket.blockId) as Record<string, any>;
};

describe('the request modal ticket field', () => {
  it('is optional when only some of the roles offered need a ticket, and says which (the submission is checked per role)', () => {
    const ticket = ticketBlock('payments-db');
    expect(ticket.optional).toBe(true);
    // `admin` needs one too, but is not offered to this user.
    expect(ticket.hint).toEqual({ type: 'plain_text', text: 'Required for write' });
  });

  it('is required, without a hint, when every role offered needs one', () => {
    const ticket = ticketBlock('ledger');
    expect(ticket.optional).toBe(false);
    expect(ticket.hint).toBeUndefined();
  });
});
