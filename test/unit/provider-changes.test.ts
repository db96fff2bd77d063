import { describeChange, type LiveGrant, providerChanges, refusalText, VANISHED_ACKNOWLEDGED } from '../../src/domain/provider-changes';
import { providerFingerprint } from '../../src/providers/fingerprint';

describe('providerFingerprint', () => {
  it('describes a postgres provider by scheme, host, port, database and mode, without user, password or credential parameters', () => {
    const { description, fingerprint } = providerFingerprint({
      type: 'postgres',
      url: 'postgresql://admin:S3cret@db.internal:5432/payments?sslmode=require&password=Pw2&sslkey=/k&application_name=bg',
      mode: 'membership',
      allowLoginAttributes: [],
    });
    expect(description).toBe('postgres postgresql://db.internal:5432/payments?application_name=bg&sslmode=require mode=membership');
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(`${description}${fingerprint}`).not.toMatch(/S3cret|Pw2|admin/);
  });

  it('is the same for the same target, whoever connects and whatever else changes; different when the target or mode does', () => {
    const base = { type: 'postgres' as const, url: 'postgresql://a:x@db:5432/p?b=1&a=2', mode: 'membership' as const, allowLoginAttributes: [] };
    const same = providerFingerprint({ ...base, url: 'postgresql://b:y@db:5432/p?a=2&b=1', allowLoginAttributes: ['createrole'] });
    expect(same).toEqual(providerFingerprint(base));
    expect(providerFingerprint({ ...base, url: 'postgresql://a:x@db2:5432/p' }).fingerprint).not.toBe(providerFingerprint(base).fingerprint);
    expect(providerFingerprint({ ...base, mode: 'temporary-login' }).fingerprint).not.toBe(providerFingerprint(base).fingerprint);
  });

  it('describes a webhook by its URL without user info or query, and ignores the secret, timeout and signature form', () => {
    const hook = { type: 'webhook' as const, url: 'https://u:p@access.internal/hooks/bg?token=T0ken', secret: 's1', timeoutMs: 1000, legacySignature: false };
    expect(providerFingerprint(hook).description).toBe('webhook https://access.internal/hooks/bg');
    expect(providerFingerprint({ ...hook, secret: 's2', timeoutMs: 5000, legacySignature: true })).toEqual(providerFingerprint(hook));
    expect(providerFingerprint({ ...hook, url: 'https://access.internal/hooks/other' })).not.toEqual(providerFingerprint(hook));
  });

  it('describes a command by its executables only (arguments may hold secrets)', () => {
    const command = { type: 'command' as const, grant: ['/opt/bg/grant', '--token=T0ken'], revoke: ['/opt/bg/revoke'], verify: null, extend: null, timeoutMs: 1000, env: {} };
    expect(providerFingerprint(command).description).toBe('command grant=/opt/bg/grant revoke=/opt/bg/revoke');
  });
});

describe('providerChanges', () => {
  const current = { fingerprint: 'f-now', description: 'postgres postgresql://db2:5432/p mode=membership' };
  const made = { fingerprint: 'f-then', description: 'postgres postgresql://db1:5432/p mode=membership' };
  const grant = (overrides: Partial<LiveGrant>): LiveGrant => ({
    grantId: 'g1',
    requestId: 'r1',
    number: 12,
    resourceId: 'payments-db',
    roleId: 'write',
    login: 'alice',
    made,
    ...overrides,
  });
  const policy = (resourceId: string) => (resourceId === 'payments-db' ? current : null);

  it('finds nothing when every live grant was made with the provider the policy has now', () => {
    expect(providerChanges([grant({ made: current })], policy)).toEqual([]);
  });

  it('finds a changed provider, a vanished resource, and grants from before fingerprints', () => {
    const changed = grant({});
    const vanished = grant({ grantId: 'g2', number: 13, resourceId: 'deploy-console' });
    const unrecorded = grant({ grantId: 'g3', number: 14, made: null });
    expect(providerChanges([changed, vanished, unrecorded], policy)).toEqual([
      { kind: 'changed', grant: changed, made, current },
      { kind: 'vanished', grant: vanished, made },
      { kind: 'unrecorded', grant: unrecorded, current },
    ]);
  });

  it('does not list again a vanished resource once acknowledged, but does when it comes back', () => {
    const acknowledged = { fingerprint: VANISHED_ACKNOWLEDGED, description: 'deploy-console no longer in the policy' };
    expect(providerChanges([grant({ resourceId: 'deploy-console', made: acknowledged })], policy)).toEqual([]);
    expect(providerChanges([grant({ made: acknowledged })], policy)).toEqual([expect.objectContaining({ kind: 'changed' })]);
  });

  it('says which grants, what they were made with and what the policy says now, and how to go on', () => {
    const changes = providerChanges([grant({}), grant({ grantId: 'g2', number: 13, resourceId: 'deploy-console' }), grant({ grantId: 'g3', made: null })], policy);
    expect(describeChange(changes[0])).toBe(
      'BG-12 payments-db/write for alice: made with postgres postgresql://db1:5432/p mode=membership, the policy now says postgres postgresql://db2:5432/p mode=membership',
    );
    expect(describeChange(changes[1])).toBe(
      'BG-13 deploy-console/write for alice: made with postgres postgresql://db1:5432/p mode=membership, and deploy-console is no longer in the policy',
    );
    const text = refusalText(changes);
    expect(text).toMatch(/^the provider of 2 live grants changed since they were made:\n {2}- BG-12 .*\n {2}- BG-13 /);
    expect(text).not.toContain('BG-14'); // unrecorded ones need no decision
    expect(text).toContain('BREAKGLASS_PROVIDER_CHANGE=accept');
    expect(text).toContain('BREAKGLASS_PROVIDER_CHANGE=revoke');
  });
});
