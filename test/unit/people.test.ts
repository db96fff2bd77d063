import { accountKind, accountRefusal, resolveLogin, samePersonRefusal, type SlackAccount } from '../../src/domain/people';
import { checkRequestRate, requestAllowedIn, validateRequest, wrongChannelMessage } from '../../src/domain/request-rules';
import { parsePolicy } from '../../src/policy/load-policy';

function account(overrides: Partial<SlackAccount> = {}): SlackAccount {
  return {
    id: 'U0ALICE',
    email: 'alice@example.com',
    deleted: false,
    isBot: false,
    isAppUser: false,
    isRestricted: false,
    isUltraRestricted: false,
    isStranger: false,
    ...overrides,
  };
}

describe('which Slack accounts may request or approve', () => {
  it('lets full members act', () => {
    expect(accountKind(account())).toBe('member');
    expect(accountRefusal(account(), 'requester')).toBeNull();
    expect(accountRefusal(account(), 'approver')).toBeNull();
  });

  it.each([
    [{ isRestricted: true }, 'guest', 'a guest account'],
    [{ isUltraRestricted: true }, 'guest', 'a guest account'],
    [{ isStranger: true }, 'external', 'an account from another organisation (Slack Connect)'],
    [{ isStranger: true, isRestricted: true }, 'external', 'an account from another organisation (Slack Connect)'],
    [{ deleted: true }, 'deactivated', 'a deactivated account'],
    [{ isBot: true }, 'bot', 'a bot or app account'],
    [{ isAppUser: true }, 'bot', 'a bot or app account'],
  ] as const)('refuses %o as requester and approver', (flags, kind, words) => {
    const refused = account(flags);
    expect(accountKind(refused)).toBe(kind);
    expect(accountRefusal(refused, 'requester')).toEqual({
      ok: false,
      code: 'account_not_allowed',
      message: `Breakglass does not let ${words} request access: only full members of the workspace may. Nothing was changed.`,
    });
    expect(accountRefusal(refused, 'approver')?.message).toContain(`${words} approve access`);
  });
});

describe('resolveLogin', () => {
  const sources = { identities: new Map([['U0ADMINALICE', 'alice']]), emailDomains: ['example.com'] };

  it('takes the identities entry first, whatever the e-mail says', () => {
    expect(resolveLogin('U0ADMINALICE', 'root@evil.test', sources)).toEqual({ ok: true, login: 'alice', from: 'identities' });
    expect(resolveLogin('U0ADMINALICE', null, sources)).toEqual({ ok: true, login: 'alice', from: 'identities' });
  });

  it('takes the local part, in lower case, of an address at a listed domain (matched without regard to case)', () => {
    expect(resolveLogin('U0BOB', 'Bob.Smith@Example.COM', sources)).toEqual({ ok: true, login: 'bob.smith', from: 'email' });
  });

  it('derives nothing from an unlisted domain, a subdomain, or when no domain is listed', () => {
    for (const email of ['alice@evil.test', 'alice@sub.example.com', 'alice@example.com.evil.test']) {
      const resolved = resolveLogin('U0MALLORY', email, sources);
      expect(resolved.ok).toBe(false);
      if (!resolved.ok) expect(resolved.message).toMatch(/not one the policy derives logins from \(`loginEmailDomains`\).*`identities`/);
    }
    const none = resolveLogin('U0BOB', 'bob@example.com', { identities: new Map(), emailDomains: [] });
    expect(none).toMatchObject({ ok: false, code: 'no_login' });
    if (!none.ok) expect(none.message).toContain('the policy derives logins from no e-mail domain');
  });

  it('refuses a missing address or a local part that is not a login', () => {
    expect(resolveLogin('U0BOB', null, sources)).toMatchObject({ ok: false, message: expect.stringContaining('no e-mail address') });
    expect(resolveLogin('U0BOB', '"bob smith"@example.com', sources)).toMatchObject({ ok: false, message: expect.stringContaining('not a valid login') });
    expect(resolveLogin('U0BOB', '@example.com', sources)).toMatchObject({ ok: false });
  });

  it('splits at the last "@"', () => {
    expect(resolveLogin('U0BOB', 'alice@evil.test@example.com', sources)).toMatchObject({ ok: false, message: expect.stringContaining('not a valid login') });
  });
});

describe('samePersonRefusal', () => {
  const base = { requesterLogin: 'alice', counted: [], subject: 'request' } as const;

  it('refuses an approver whose login is the requester’s', () => {
    const refusal = samePersonRefusal({ ...base, actorLogin: 'alice' });
    expect(refusal).toEqual({
      ok: false,
      code: 'same_person',
      message:
        "Your account and the requester's have the same login on the targets (`alice`), so Breakglass counts them as one person: you cannot approve this request; another approver has to.",
    });
    expect(samePersonRefusal({ ...base, actorLogin: 'alice', subject: 'extension' })?.message).toContain('you cannot approve more time on this access');
  });

  it('counts two approvers with one login once', () => {
    const refusal = samePersonRefusal({
      ...base,
      actorLogin: 'bob',
      counted: [
        { approverId: 'U0CAROL', login: 'carol' },
        { approverId: 'U0BOB', login: 'bob' },
      ],
    });
    expect(refusal?.code).toBe('same_person');
    expect(refusal?.message).toContain('<@U0BOB> already approved this request, and has the same login on the targets as you (`bob`)');
  });

  it('lets distinct logins, and approvers without a login, approve', () => {
    expect(
      samePersonRefusal({
        ...base,
        actorLogin: 'bob',
        counted: [
          { approverId: 'U0CAROL', login: 'carol' },
          { approverId: 'U0DAVE', login: null },
        ],
      }),
    ).toBeNull();
    expect(samePersonRefusal({ ...base, actorLogin: null, counted: [{ approverId: 'U0DAVE', login: null }] })).toBeNull();
  });

  it('never lets a login render as formatting, a mention or a link', () => {
    const message = samePersonRefusal({ ...base, requesterLogin: '<!channel>`x', actorLogin: '<!channel>`x' })?.message ?? '';
    expect(message).toContain('(`&lt;!channel&gt;ˋx`)');
    expect(message).not.toContain('<!channel>');
  });
});

describe('requestChannels and requestsPerHour', () => {
  const policy = parsePolicy(
    `
defaults: { requestChannels: [C0INCIDENT] }
resources:
  - id: payments-db
    provider: { type: postgres, url: "postgresql://admin@db/payments" }
    approvers: [U0APPROVER1]
    roles:
      - { id: read }
      - { id: write, requestChannels: [C0DBA, C0INCIDENT] }
      - { id: anywhere, requestChannels: null }
`,
    'breakglass.yaml',
    {},
  );
  const input = { requesterId: 'U0REQUESTER', requesterGroupIds: new Set<string>(), resourceId: 'payments-db', durationText: '30m', ticket: null, reason: 'stuck' };
  const [read, write, anywhere] = policy.resources[0].roles;

  it('allows a role only in its channels; unset, anywhere', () => {
    expect(requestAllowedIn(read, 'C0INCIDENT')).toBe(true);
    expect(requestAllowedIn(read, 'C0DBA')).toBe(false);
    expect(requestAllowedIn(write, 'C0DBA')).toBe(true);
    expect(requestAllowedIn(anywhere, 'D0DIRECT')).toBe(true);
  });

  it('refuses a request from elsewhere, saying where to ask', () => {
    expect(validateRequest(policy, { ...input, roleId: 'read', channelId: 'D0DIRECT' })).toEqual({
      ok: false,
      code: 'wrong_channel',
      field: 'role',
      message: 'Requests for `payments-db` / `read` are not taken in a direct message: ask in <#C0INCIDENT>, where the approvers and the incident can see them.',
    });
    expect(validateRequest(policy, { ...input, roleId: 'write', channelId: 'C0SIDE' })).toMatchObject({
      code: 'wrong_channel',
      message: expect.stringContaining('not taken in this channel: ask in <#C0DBA> or <#C0INCIDENT>'),
    });
    expect(validateRequest(policy, { ...input, roleId: 'write', channelId: 'C0DBA' }).ok).toBe(true);
  });

  it('names every channel the requester could use when none of their roles may be asked here', () => {
    const roles = policy.resources[0].roles.slice(0, 2).map((role) => ({ resource: policy.resources[0], role }));
    expect(wrongChannelMessage('C0SIDE', roles)).toBe(
      'Your requests are not taken in this channel: ask in <#C0INCIDENT> or <#C0DBA>, where the approvers and the incident can see them.',
    );
  });

  it('limits requests per requester per hour, and says when they can ask again', () => {
    const now = new Date('2026-12-05T12:00:00Z');
    const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
    expect(checkRequestRate([minutesAgo(50), minutesAgo(10)], 3, now)).toBeNull();
    expect(checkRequestRate([minutesAgo(90), minutesAgo(61), minutesAgo(50), minutesAgo(10)], 3, now)).toBeNull();
    expect(checkRequestRate([minutesAgo(10), minutesAgo(50), minutesAgo(30)], 3, now)).toEqual({
      ok: false,
      code: 'too_many_requests',
      field: 'role',
      message: 'You have made 3 requests in the last hour, and the policy allows one person 3 (`defaults.requestsPerHour`). You can ask again at 12:10 UTC; nothing was requested.',
    });
    // With more than the limit (it was lowered), a slot frees once enough of them are an hour old.
    expect(checkRequestRate([minutesAgo(50), minutesAgo(40), minutesAgo(30), minutesAgo(20)], 2, now)?.message).toContain('ask again at 12:30 UTC');
  });
});
