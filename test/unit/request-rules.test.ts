import { checkNotAlreadyRequested, MAX_REASON_LENGTH, type RequestInput, validateRequest } from '../../src/domain/request-rules';
import { formatUtcTime } from '../../src/domain/utc-time';
import { parsePolicy } from '../../src/policy/load-policy';

const policy = parsePolicy(
  `
defaults: { maxDuration: 4h, requireTicket: true, ticketPattern: "^[A-Z]+-[0-9]+$" }
resources:
  - id: payments-db
    provider: { type: postgres, url: "postgresql://admin@db/payments" }
    approvers: [U0APPROVER1, U0APPROVER2, S0SRELEADS]
    roles:
      - { id: read,  approvals: 1, maxDuration: 8h }
      - { id: write, approvals: 2, maxDuration: 1h, requesters: [S0PAYMENTS, U0APPROVER1] }
  - id: deploy-console
    provider: { type: webhook, url: "http://127.0.0.1:9000/access", secret: s }
    approvers: [U0APPROVER1]
    roles: [ { id: operator, maxDuration: 2h, requireTicket: false } ]
  - id: ledger
    provider: { type: postgres, url: "postgresql://admin@db/ledger" }
    approvers: [U0APPROVER1]
    requesters: [S0FINANCE]
    roles: [ { id: audit, ticketPattern: "^CHG[0-9]{7}$" } ]
`,
  'breakglass.yaml',
  {},
);

function request(overrides: Partial<RequestInput> = {}): RequestInput {
  return {
    requesterId: 'U0REQUESTER',
    requesterGroupIds: new Set(['S0PAYMENTS']),
    resourceId: 'payments-db',
    roleId: 'write',
    durationText: '30m',
    ticket: 'INC-4211',
    reason: 'payout worker stuck, need to requeue',
    ...overrides,
  };
}

function rejection(overrides: Partial<RequestInput>) {
  const result = validateRequest(policy, request(overrides));
  if (result.ok) throw new Error('expected the request to be rejected');
  return result;
}

describe('validateRequest', () => {
  it('accepts a valid request and resolves the policy rule', () => {
    const result = validateRequest(policy, request({ reason: '  payout worker stuck  ', ticket: ' INC-4211 ' }));
    expect(result).toMatchObject({ ok: true, durationSeconds: 1_800, ticket: 'INC-4211', reason: 'payout worker stuck' });
    if (!result.ok) return;
    expect(result.resource.id).toBe('payments-db');
    expect(result.role).toMatchObject({ id: 'write', approvals: 2 });
  });

  it('lists the resources this user can request when the resource is unknown', () => {
    const result = rejection({ resourceId: 'payments' });
    expect(result).toMatchObject({ code: 'unknown_resource', field: 'resource' });
    expect(result.message).toBe('There is no resource `payments`. You can request: `payments-db`, `deploy-console`.');
  });

  it('includes resources granted through a user group', () => {
    const result = rejection({ resourceId: 'nope', requesterGroupIds: new Set(['S0FINANCE']) });
    expect(result.message).toContain('`ledger`');
  });

  it('says so when the user can request nothing at all', () => {
    const strict = parsePolicy(
      'resources: [ { id: x, provider: { type: postgres, url: "postgresql://h/d" }, approvers: [U1], requesters: [U2], roles: [ { id: r } ] } ]',
      'p.yaml',
      {},
    );
    const result = validateRequest(strict, request({ resourceId: 'y' }));
    expect(result).toMatchObject({ ok: false, code: 'unknown_resource' });
    if (result.ok) return;
    expect(result.message).toMatch(/not allowed to request any resource/);
  });

  it('lists the roles of the resource when the role is unknown', () => {
    const result = rejection({ roleId: 'admin' });
    expect(result).toMatchObject({ code: 'unknown_role', field: 'role' });
    expect(result.message).toBe('`payments-db` has no role `admin`. Its roles are: `read`, `write`.');
  });

  it('refuses a user who is not a requester of the role and names what they can request there', () => {
    const result = rejection({ requesterGroupIds: new Set() });
    expect(result).toMatchObject({ code: 'not_requester', field: 'role' });
    expect(result.message).toBe('You are not allowed to request `payments-db` / `write`. On `payments-db` you can request: `read`.');
    expect(rejection({ resourceId: 'ledger', roleId: 'audit', ticket: 'CHG0000001' })).toMatchObject({ code: 'not_requester' });
  });

  it('lets an approver request like anyone else', () => {
    const result = validateRequest(policy, request({ requesterId: 'U0APPROVER1', requesterGroupIds: new Set() }));
    expect(result.ok).toBe(true);
  });

  it.each(['2x', '', '0m', '1.5h'])('rejects the duration %j and says what to use', (durationText) => {
    const result = rejection({ durationText });
    expect(result).toMatchObject({ code: 'bad_duration', field: 'duration' });
    expect(result.message).toContain('Use e.g. 45s, 30m, 2h or 1d (up to 1h for `payments-db` / `write`)');
  });

  it('rejects a duration over the role maximum and states the maximum', () => {
    const result = rejection({ durationText: '90m' });
    expect(result).toMatchObject({ code: 'too_long', field: 'duration' });
    expect(result.message).toBe('1h 30m is longer than the 1h allowed for `payments-db` / `write`. Ask for 1h or less.');
    expect(validateRequest(policy, request({ durationText: '1h' })).ok).toBe(true);
    expect(validateRequest(policy, request({ roleId: 'read', durationText: '8h' })).ok).toBe(true);
  });

  it.each([null, '', '   '])('requires a ticket when the role does (%j)', (ticket) => {
    const result = rejection({ ticket });
    expect(result).toMatchObject({ code: 'ticket_required', field: 'ticket' });
    expect(result.message).toBe('`payments-db` / `write` needs a ticket. It must match `^[A-Z]+-[0-9]+$`, e.g. `INC-4211`.');
  });

  it('accepts no ticket when the role does not require one', () => {
    const result = validateRequest(policy, request({ resourceId: 'deploy-console', roleId: 'operator', ticket: null }));
    expect(result).toMatchObject({ ok: true, ticket: null });
  });

  it('rejects a ticket that does not match the pattern, showing the pattern and an example', () => {
    const result = rejection({ ticket: 'inc4211' });
    expect(result).toMatchObject({ code: 'bad_ticket', field: 'ticket' });
    expect(result.message).toBe('`inc4211` is not a valid ticket for `payments-db` / `write`. It must match `^[A-Z]+-[0-9]+$`, e.g. `INC-4211`.');
  });

  it('shows an example that fits the role pattern, or only the pattern when none of ours fits', () => {
    const finance = { resourceId: 'ledger', roleId: 'audit', requesterGroupIds: new Set(['S0FINANCE']) };
    expect(rejection({ ...finance, ticket: 'INC-1' }).message).toBe('`INC-1` is not a valid ticket for `ledger` / `audit`. It must match `^CHG[0-9]{7}$`, e.g. `CHG0012345`.');
    expect(validateRequest(policy, request({ ...finance, ticket: 'CHG0000001' })).ok).toBe(true);
  });

  it('rejects an absurdly long ticket', () => {
    expect(rejection({ resourceId: 'deploy-console', roleId: 'operator', ticket: 'X'.repeat(101) })).toMatchObject({ code: 'bad_ticket' });
  });

  it.each(['', '   \n '])('requires a reason (%j)', (reason) => {
    const result = rejection({ reason });
    expect(result).toMatchObject({ code: 'missing_reason', field: 'reason' });
    expect(result.message).toMatch(/give a reason/);
  });

  it('limits the reason to 1000 characters', () => {
    expect(validateRequest(policy, request({ reason: 'x'.repeat(MAX_REASON_LENGTH) })).ok).toBe(true);
    const result = rejection({ reason: 'x'.repeat(MAX_REASON_LENGTH + 1) });
    expect(result).toMatchObject({ code: 'missing_reason', field: 'reason' });
    expect(result.message).toBe('The reason is 1001 characters long; keep it to 1000.');
  });

  it('checks in field order: resource, role, requester, duration, ticket, reason', () => {
    expect(rejection({ resourceId: 'x', roleId: 'y', durationText: 'z', ticket: null, reason: '' }).code).toBe('unknown_resource');
    expect(rejection({ roleId: 'y', durationText: 'z', ticket: null, reason: '' }).code).toBe('unknown_role');
    expect(rejection({ durationText: 'z', ticket: null, reason: '' }).code).toBe('bad_duration');
    expect(rejection({ ticket: null, reason: '' }).code).toBe('ticket_required');
  });
});

describe('requests nobody else could approve', () => {
  const soleApproverPolicy = parsePolicy(
    `
resources:
  - id: deploy-console
    provider: { type: webhook, url: "http://127.0.0.1:9000/access", secret: "s3cret" }
    approvers: [U0APPROVER1]
    roles: [ { id: operator, approvals: 1, maxDuration: 2h } ]
  - id: grouped
    provider: { type: webhook, url: "http://127.0.0.1:9000/access", secret: "s3cret" }
    approvers: [U0APPROVER1, S0LEADS]
    roles: [ { id: operator, approvals: 2, maxDuration: 2h } ]
`,
    'sole.yaml',
    {},
  );
  const ask = (requesterId: string, resourceId = 'deploy-console') =>
    validateRequest(soleApproverPolicy, { requesterId, requesterGroupIds: new Set(), resourceId, roleId: 'operator', durationText: '30m', ticket: null, reason: 'deploy' });

  it('refuses when the requester is the only named approver', () => {
    const result = ask('U0APPROVER1');
    expect(result).toMatchObject({ ok: false, code: 'no_possible_approvers', field: 'role' });
    expect(!result.ok && result.message).toMatch(/needs 1 approval from someone other than you/);
  });

  it('accepts the same request from anyone else', () => {
    expect(ask('U0SOMEONE').ok).toBe(true);
  });

  it('accepts when a user group may supply the other approvers', () => {
    expect(ask('U0APPROVER1', 'grouped').ok).toBe(true);
  });
});

describe('a second request for the same access', () => {
  const valid = validateRequest(policy, request({ roleId: 'read' }));
  if (!valid.ok) throw new Error('the fixture request should be valid');
  const now = new Date('2026-11-21T14:00:00Z');
  const check = (live: Parameters<typeof checkNotAlreadyRequested>[2]) => checkNotAlreadyRequested(valid.resource, valid.role, live, now);

  it('is fine when the requester has no live request for it', () => {
    expect(check(null)).toBeNull();
    // Being revoked (on its way out) or ended: not live.
    for (const status of ['REVOKING', 'EXPIRED', 'REVOKED', 'DENIED', 'FAILED', 'TIMED_OUT'] as const) {
      expect(check({ number: 12, status, expiresAt: new Date('2026-11-21T14:30:00Z') })).toBeNull();
    }
  });

  it('is refused while the earlier one is active, pointing at Extend', () => {
    expect(check({ number: 12, status: 'ACTIVE', expiresAt: new Date('2026-11-21T14:30:00Z') })).toEqual({
      ok: false,
      code: 'already_active',
      field: 'role',
      message: 'You already hold `payments-db` / `read` until 14:30 UTC (BG-12). To keep it longer, use Extend on its DM or `/breakglass extend BG-12 30m`.',
    });
  });

  it('is refused while the earlier one is being granted', () => {
    const result = check({ number: 12, status: 'APPROVED', expiresAt: new Date('2026-11-21T14:30:00Z') });
    expect(result).toMatchObject({ code: 'already_active', field: 'role' });
    expect(result?.message).toBe(
      '`payments-db` / `read` is already being granted to you until 14:30 UTC (BG-12). To keep it longer once it is active, use Extend on its DM or `/breakglass extend BG-12 30m`.',
    );
  });

  it('says when access past its expiry is about to go, rather than "until" a time gone by', () => {
    const result = check({ number: 12, status: 'ACTIVE', expiresAt: new Date('2026-11-21T13:59:00Z') });
    expect(result).toMatchObject({ code: 'already_active' });
    expect(result?.message).toBe('Your `payments-db` / `read` access (BG-12) has reached its end and is being taken away; ask again in a moment.');
  });

  it('is refused while the earlier one waits for approval', () => {
    expect(check({ number: 7, status: 'PENDING', expiresAt: null })).toEqual({
      ok: false,
      code: 'already_pending',
      field: 'role',
      message:
        'You already asked for `payments-db` / `read` in BG-7, and it is still waiting for approval. See where it stands with `/breakglass status BG-7`; to ask differently, withdraw it first (Deny on its message).',
    });
  });
});

describe('formatUtcTime', () => {
  const now = new Date('2026-11-21T14:00:00Z');

  it('shows the time of day in UTC, with the date only when it is not today', () => {
    expect(formatUtcTime(new Date('2026-11-21T14:30:59Z'), now)).toBe('14:30 UTC');
    expect(formatUtcTime(new Date('2026-11-22T02:05:00Z'), now)).toBe('2026-11-22 02:05 UTC');
  });
});
