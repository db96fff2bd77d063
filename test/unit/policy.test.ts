import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { PolicyError, loadPolicy, parsePolicy } from '../../src/policy/load-policy';
import { findRole, principalMatches, referencedGroupIds, requestableRoles } from '../../src/policy/policy-queries';

const FILE = 'breakglass.yaml';
const ENV = {
  PAYMENTS_DB_ADMIN_URL: 'postgresql://admin:s3cret@db.internal:5432/payments',
  DEPLOY_HOOK_SECRET: 'hook-secret',
};

const GOOD_POLICY = `
defaults: { maxDuration: 4h, approvals: 1, requireTicket: true, ticketPattern: "^[A-Z]+-[0-9]+$", requestTtl: 30m }
identities:
  U0REQUESTER: alice
admins: [U0ADMIN]
resources:
  - id: payments-db
    description: Payments PostgreSQL (production)
    provider: { type: postgres, url: "\${PAYMENTS_DB_ADMIN_URL}" }
    requesters: ["*"]
    approvers: [U0APPROVER1, U0APPROVER2, S0SRELEADS]
    roles:
      - { id: read,  grant: payments_read,  approvals: 1, maxDuration: 8h }
      - { id: write, grant: payments_write, approvals: 2, maxDuration: 1h, requesters: [S0PAYMENTS] }
  - id: deploy-console
    provider: { type: webhook, url: "http://127.0.0.1:9000/access", secret: "\${DEPLOY_HOOK_SECRET}", timeout: 5s }
    approvers: [U0APPROVER1]
    roles: [ { id: operator, approvals: 1, maxDuration: 2h, requireTicket: false } ]
`;

/** A small valid policy as a plain object, for tests that break one thing. */
function basePolicy(): Record<string, any> {
  return {
    resources: [
      {
        id: 'payments-db',
        provider: { type: 'postgres', url: 'postgresql://admin@db/payments' },
        approvers: ['U0APPROVER1', 'U0APPROVER2'],
        roles: [
          { id: 'read', maxDuration: '8h' },
          { id: 'write', approvals: 2, maxDuration: '1h' },
        ],
      },
    ],
  };
}

function problemsOf(yamlText: string, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parsePolicy(yamlText, FILE, env);
  } catch (error) {
    if (error instanceof PolicyError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the policy to be rejected');
}

function problemsAfter(change: (policy: Record<string, any>) => void, env: NodeJS.ProcessEnv = ENV): string[] {
  const policy = basePolicy();
  change(policy);
  return problemsOf(stringify(policy), env);
}

describe('parsePolicy with a good policy', () => {
  const policy = parsePolicy(GOOD_POLICY, FILE, ENV);
  const [payments, deploy] = policy.resources;

  it('keeps the source and top-level settings', () => {
    expect(policy.sourcePath).toBe(FILE);
    expect([...policy.identities]).toEqual([['U0REQUESTER', 'alice']]);
    expect(policy.admins).toEqual(['U0ADMIN']);
    expect(policy.requestTtlSeconds).toBe(1_800);
  });

  it('resolves a postgres resource with role values over resource values over defaults', () => {
    expect(payments).toMatchObject({
      id: 'payments-db',
      description: 'Payments PostgreSQL (production)',
      provider: { type: 'postgres', url: ENV.PAYMENTS_DB_ADMIN_URL },
    });
    expect(payments.roles).toEqual([
      {
        id: 'read',
        description: null,
        grant: 'payments_read',
        approvals: 1,
        maxDurationSeconds: 8 * 3_600,
        requireTicket: true,
        ticketPattern: /^[A-Z]+-[0-9]+$/,
        approvers: ['U0APPROVER1', 'U0APPROVER2', 'S0SRELEADS'],
        requesters: ['*'],
        remindBeforeSeconds: 600,
        extension: { approvals: 1, maxTotalSeconds: 8 * 3_600 },
        requestChannels: null,
        endWithIncident: true,
      },
      {
        id: 'write',
        description: null,
        grant: 'payments_write',
        approvals: 2,
        maxDurationSeconds: 3_600,
        requireTicket: true,
        ticketPattern: /^[A-Z]+-[0-9]+$/,
        approvers: ['U0APPROVER1', 'U0APPROVER2', 'S0SRELEADS'],
        requesters: ['S0PAYMENTS'],
        remindBeforeSeconds: 600,
        extension: { approvals: 2, maxTotalSeconds: 3_600 },
        requestChannels: null,
        endWithIncident: true,
      },
    ]);
  });

  it('resolves a webhook resource, defaulting grant to the role id', () => {
    expect(deploy.description).toBeNull();
    expect(deploy.provider).toEqual({ type: 'webhook', url: 'http://127.0.0.1:9000/access', secret: 'hook-secret', timeoutMs: 5_000, legacySignature: false });
    expect(deploy.roles[0]).toMatchObject({ id: 'operator', grant: 'operator', requireTicket: false, approvers: ['U0APPROVER1'], requesters: ['*'] });
  });

  it('uses built-in defaults when nothing is set', () => {
    const minimal = parsePolicy(stringify(basePolicy()), FILE, {});
    expect(minimal.requestTtlSeconds).toBe(3_600);
    expect(minimal.admins).toEqual([]);
    expect(minimal.identities.size).toBe(0);
    expect(minimal.loginEmailDomains).toEqual([]);
    expect(minimal.requestsPerHour).toBe(10);
    expect(minimal.resources[0].roles[0].requestChannels).toBeNull();
    expect(minimal.resources[0].roles[0]).toMatchObject({ approvals: 1, requireTicket: false, ticketPattern: null, requesters: ['*'] });
  });

  it('defaults the webhook timeout to 10s', () => {
    const yamlText = stringify({
      resources: [{ id: 'hook', provider: { type: 'webhook', url: 'https://example.com/x', secret: 'abc' }, approvers: ['U1'], roles: [{ id: 'op' }] }],
    });
    expect(parsePolicy(yamlText, FILE, {}).resources[0].provider).toMatchObject({ timeoutMs: 10_000 });
  });

  it('lets a role clear an inherited ticket pattern with null', () => {
    const policy = basePolicy();
    policy.defaults = { ticketPattern: '^INC-' };
    policy.resources[0].roles[0].ticketPattern = null;
    const parsed = parsePolicy(stringify(policy), FILE, {});
    expect(parsed.resources[0].roles[0].ticketPattern).toBeNull();
    expect(parsed.resources[0].roles[1].ticketPattern).toEqual(/^INC-/);
  });

  it('takes approvers from defaults when neither role nor resource names any', () => {
    const policy = basePolicy();
    delete policy.resources[0].approvers;
    policy.defaults = { approvers: ['S0SRE'] };
    expect(parsePolicy(stringify(policy), FILE, {}).resources[0].roles[1].approvers).toEqual(['S0SRE']);
  });
});

describe('parsePolicy environment interpolation', () => {
  const withUrl = (url: string) => (policy: Record<string, any>) => {
    policy.resources[0].provider.url = url;
  };

  it('substitutes variables inside longer text', () => {
    const policy = basePolicy();
    policy.resources[0].provider.url = 'postgresql://${DB_USER}:${DB_PASS}@db/payments';
    const parsed = parsePolicy(stringify(policy), FILE, { DB_USER: 'admin', DB_PASS: 'pw' });
    expect(parsed.resources[0].provider).toEqual({ type: 'postgres', url: 'postgresql://admin:pw@db/payments', mode: 'membership', allowLoginAttributes: [] });
  });

  it('names an unset variable and where it is used', () => {
    expect(problemsAfter(withUrl('${MISSING_URL}'), {})).toEqual([
      `${FILE}: resources[0].provider.url: environment variable MISSING_URL is not set (referenced as \${MISSING_URL})`,
    ]);
  });

  it('treats an empty variable as an error', () => {
    expect(problemsAfter(withUrl('${EMPTY_URL}'), { EMPTY_URL: '' })).toEqual([
      `${FILE}: resources[0].provider.url: environment variable EMPTY_URL is empty (referenced as \${EMPTY_URL})`,
    ]);
  });

  it('reports every missing variable', () => {
    const problems = problemsAfter((policy) => {
      policy.resources[0].provider.url = 'postgresql://${A}:${B}@db/x';
    }, {});
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('environment variable A is not set');
    expect(problems[1]).toContain('environment variable B is not set');
  });

  it('keeps $${ as a literal ${', () => {
    const policy = basePolicy();
    policy.resources[0].roles[0].description = 'costs $${HOME} dollars';
    expect(parsePolicy(stringify(policy), FILE, {}).resources[0].roles[0].description).toBe('costs ${HOME} dollars');
  });

  it('rejects malformed references', () => {
    expect(problemsAfter(withUrl('postgresql://${bad name}@db/x'))[0]).toMatch(/provider\.url: \$\{bad name\} is not a valid environment variable reference/);
    expect(problemsAfter(withUrl('postgresql://${OOPS'))[0]).toMatch(/provider\.url: unterminated \$\{/);
  });

  it('never repeats a URL value, which may hold a password, in a message', () => {
    const problems = problemsAfter(withUrl('${URL}'), { URL: 'mysql://root:hunter2@db/x' });
    expect(problems).toEqual([`${FILE}: resources[0].provider.url: is not a valid postgres:// or postgresql:// URL`]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});

describe('parsePolicy validation errors', () => {
  it('names file, path and the problem for a bad duration', () => {
    const problems = problemsAfter((policy) => {
      policy.resources[0].roles[1].maxDuration = '2x';
    });
    expect(problems).toEqual([`${FILE}: resources[0].roles[1].maxDuration: "2x" is not a duration (use 45s, 30m, 2h or 1d, at most 365d)`]);
  });

  it('puts every problem on its own line after a header in the error message', () => {
    const policy = basePolicy();
    policy.resources[0].roles[0].maxDuration = '2x';
    policy.resources[0].roles[1].approvals = 0;
    let error: unknown;
    try {
      parsePolicy(stringify(policy), FILE, {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).name).toBe('PolicyError');
    expect((error as PolicyError).message.split('\n')).toEqual([
      `Invalid breakglass policy ${FILE} (2 problems):`,
      `${FILE}: resources[0].roles[0].maxDuration: "2x" is not a duration (use 45s, 30m, 2h or 1d, at most 365d)`,
      `${FILE}: resources[0].roles[1].approvals: 0 is not a whole number of at least 1`,
    ]);
  });

  it('flags unknown keys with a suggestion', () => {
    const problems = problemsAfter((policy) => {
      policy.resources[0].roles[0].maxDurration = '1h';
      policy.resources[0].colour = 'blue';
      policy.defualts = {};
    });
    expect(problems).toEqual([
      `${FILE}: defualts: unknown key (did you mean "defaults"?)`,
      expect.stringMatching(/^breakglass\.yaml: resources\[0\]\.colour: unknown key \(allowed keys: id, description, provider, roles, /),
      `${FILE}: resources[0].roles[0].maxDurration: unknown key (did you mean "maxDuration"?)`,
    ]);
  });

  it.each([
    ['Payments', 'resources[0].id: "Payments" is not a valid id'],
    ['-db', 'resources[0].id: "-db" is not a valid id'],
    ['a b', 'resources[0].id: "a b" is not a valid id'],
  ])('rejects the id %j', (id, expected) => {
    expect(problemsAfter((policy) => (policy.resources[0].id = id))).toEqual([expect.stringContaining(`${FILE}: ${expected}`)]);
  });

  it('rejects duplicate resource ids and duplicate role ids within a resource', () => {
    const problems = problemsAfter((policy) => {
      policy.resources.push({ ...policy.resources[0] });
      policy.resources[0].roles[1].id = 'read';
    });
    expect(problems).toContain(`${FILE}: resources[0].roles[1].id: duplicate id "read" (already used by resources[0].roles[0])`);
    expect(problems).toContain(`${FILE}: resources[1].id: duplicate id "payments-db" (already used by resources[0])`);
  });

  it('allows the same role id in different resources', () => {
    const policy = basePolicy();
    policy.resources.push({ ...policy.resources[0], id: 'other-db' });
    expect(parsePolicy(stringify(policy), FILE, {}).resources.map((resource) => resource.roles[0].id)).toEqual(['read', 'read']);
  });

  it('requires at least one resource and one role', () => {
    expect(problemsOf('resources: []')).toEqual([`${FILE}: resources: must list at least one resource`]);
    expect(problemsOf('defaults: { approvals: 1 }')).toEqual([`${FILE}: resources: missing; list at least one resource`]);
    expect(problemsAfter((policy) => (policy.resources[0].roles = []))).toEqual([`${FILE}: resources[0].roles: must list at least one role`]);
    expect(problemsAfter((policy) => delete policy.resources[0].roles)).toEqual([`${FILE}: resources[0].roles: missing; list at least one role`]);
  });

  it('rejects an empty file and a file that is not a mapping', () => {
    expect(problemsOf('')).toEqual([`${FILE}: the file is empty; it needs at least a "resources" list`]);
    expect(problemsOf('- a\n- b')).toEqual([`${FILE}: expected a mapping (key: value), got a list`]);
  });

  it.each([0, -1, 1.5, '2'])('rejects approvals %j', (approvals) => {
    const problems = problemsAfter((policy) => (policy.resources[0].roles[0].approvals = approvals));
    expect(problems).toEqual([expect.stringContaining(`${FILE}: resources[0].roles[0].approvals: `)]);
    expect(problems[0]).toContain('is not a whole number of at least 1');
  });

  it('requires approvers and refuses "*" among them', () => {
    expect(problemsAfter((policy) => (policy.resources[0].approvers = []))).toContain(`${FILE}: resources[0].approvers: must not be empty`);
    expect(problemsAfter((policy) => (policy.resources[0].approvers = ['*']))).toContain(
      `${FILE}: resources[0].approvers[0]: "*" is not allowed here; name the people (U…) or user groups (S…)`,
    );
    const missing = problemsAfter((policy) => delete policy.resources[0].approvers);
    expect(missing).toContain(`${FILE}: resources[0].roles[0].approvers: missing; set approvers on the role, its resource, or in defaults`);
    expect(missing).toContain(`${FILE}: resources[0].roles[1].approvers: missing; set approvers on the role, its resource, or in defaults`);
  });

  it('rejects approvals that the listed people could never reach', () => {
    const problems = problemsAfter((policy) => (policy.resources[0].roles[1].approvals = 3));
    expect(problems).toEqual([
      `${FILE}: resources[0].roles[1].approvals: needs 3 approvals but only 2 approvers are listed (U0APPROVER1, U0APPROVER2), ` +
        'so a request could never be approved; add approvers or a user group (S…), or lower approvals',
    ]);
  });

  it('accepts high approvals when a user group can supply the approvers', () => {
    const policy = basePolicy();
    policy.resources[0].roles[1].approvals = 3;
    policy.resources[0].roles[1].approvers = ['U0APPROVER1', 'S0SRELEADS'];
    expect(parsePolicy(stringify(policy), FILE, {}).resources[0].roles[1].approvals).toBe(3);
  });

  it('checks principal ids and duplicates', () => {
    const problems = problemsAfter((policy) => {
      policy.resources[0].requesters = ['alice', 'U0ONE', 'U0ONE', 42];
    });
    expect(problems).toEqual([
      `${FILE}: resources[0].requesters[0]: "alice" is not a Slack user id (U…/W…) or user-group id (S…), or "*" for everyone`,
      `${FILE}: resources[0].requesters[2]: U0ONE is listed twice`,
      `${FILE}: resources[0].requesters[3]: 42 is not a Slack user id (U…/W…) or user-group id (S…), or "*" for everyone`,
    ]);
  });

  it('accepts W… user ids and defaults requesters to everyone', () => {
    const policy = basePolicy();
    policy.resources[0].approvers = ['W0ENTERPRISE1', 'U0APPROVER2'];
    const parsed = parsePolicy(stringify(policy), FILE, {});
    expect(parsed.resources[0].roles[0].approvers).toEqual(['W0ENTERPRISE1', 'U0APPROVER2']);
    expect(parsed.resources[0].roles[0].requesters).toEqual(['*']);
  });

  it('rejects a ticket pattern that does not compile, and non-boolean requireTicket', () => {
    const problems = problemsAfter((policy) => {
      policy.defaults = { ticketPattern: '([A-Z]+', requireTicket: 'yes' };
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toBe(`${FILE}: defaults.requireTicket: expected true or false, got "yes"`);
    expect(problems[1]).toMatch(/^breakglass\.yaml: defaults\.ticketPattern: "\(\[A-Z\]\+" is not a valid regular expression \(/);
  });

  it('accepts an unanchored ticket pattern', () => {
    const policy = basePolicy();
    policy.defaults = { ticketPattern: 'INC-[0-9]+' };
    expect(parsePolicy(stringify(policy), FILE, {}).resources[0].roles[0].ticketPattern?.test('see INC-12')).toBe(true);
  });

  it('checks durations in defaults, including requestTtl', () => {
    const problems = problemsAfter((policy) => {
      policy.defaults = { maxDuration: 30, requestTtl: '400d' };
    });
    expect(problems).toEqual([
      `${FILE}: defaults.maxDuration: 30 is not a duration (use 45s, 30m, 2h or 1d; add a unit, at most 365d)`,
      `${FILE}: defaults.requestTtl: "400d" is not a duration (use 45s, 30m, 2h or 1d, at most 365d)`,
    ]);
  });

  it('checks providers by type', () => {
    expect(problemsAfter((policy) => (policy.resources[0].provider = { type: 'mysql', url: 'x' }))).toEqual([
      `${FILE}: resources[0].provider.type: "mysql" is not a provider type (use postgres, webhook or command)`,
    ]);
    expect(problemsAfter((policy) => (policy.resources[0].provider = { url: 'x' }))).toEqual([`${FILE}: resources[0].provider.type: missing; use postgres, webhook or command`]);
    expect(problemsAfter((policy) => (policy.resources[0].provider = { type: 'postgres' }))).toEqual([`${FILE}: resources[0].provider.url: missing`]);
    expect(problemsAfter((policy) => delete policy.resources[0].provider)).toEqual([expect.stringMatching(/^breakglass\.yaml: resources\[0\]\.provider: missing; e\.g\. /)]);
    expect(problemsAfter((policy) => (policy.resources[0].provider = { type: 'postgres', url: 'postgresql://db/x', secret: 's' }))).toEqual([
      `${FILE}: resources[0].provider.secret: unknown key (allowed keys: type, url, mode, allowLoginAttributes)`,
    ]);
  });

  it('checks webhook url, secret and timeout', () => {
    const problems = problemsAfter((policy) => {
      policy.resources[0].provider = { type: 'webhook', url: 'ftp://example.com/x', timeout: 'soon' };
    });
    expect(problems).toEqual([
      `${FILE}: resources[0].provider.url: is not a valid http:// or https:// URL`,
      `${FILE}: resources[0].provider.secret: missing`,
      `${FILE}: resources[0].provider.timeout: "soon" is not a duration (use 45s, 30m, 2h or 1d, at most 365d)`,
    ]);
  });

  it('reads a webhook legacySignature switch, off by default', () => {
    const withLegacy = (value: unknown) => (policy: Record<string, any>) => {
      policy.resources[0].provider = { type: 'webhook', url: 'https://example.com/x', secret: 's', legacySignature: value };
    };
    const policy = basePolicy();
    withLegacy(true)(policy);
    expect(parsePolicy(stringify(policy), FILE, ENV).resources[0].provider).toMatchObject({ type: 'webhook', legacySignature: true });
    expect(problemsAfter(withLegacy('yes'))).toEqual([expect.stringMatching(/^breakglass\.yaml: resources\[0\]\.provider\.legacySignature: /)]);
  });

  it('checks identities and admins', () => {
    const problems = problemsAfter((policy) => {
      policy.identities = { U0ALICE: '', bob: 'bob', U0CAROL: 7 };
      policy.admins = ['*', 'S0GROUP'];
    });
    expect(problems).toEqual([
      `${FILE}: identities.U0ALICE: must not be empty`,
      `${FILE}: identities.bob: is not a Slack user id (U…/W…)`,
      `${FILE}: identities.U0CAROL: expected text, got 7`,
      `${FILE}: admins[0]: "*" is not allowed here; name the people (U…) or user groups (S…)`,
      `${FILE}: admins[1]: "S0GROUP" is not a Slack user id (U…/W…)`,
    ]);
  });

  it('collects problems from different resources at once', () => {
    const problems = problemsAfter((policy) => {
      policy.resources[0].roles[0].maxDuration = '2x';
      policy.resources.push({ id: 'Bad', provider: { type: 'postgres', url: 'postgresql://h/d' }, approvers: ['U1'], roles: [{ id: 'r' }] });
    });
    expect(problems).toEqual([
      `${FILE}: resources[0].roles[0].maxDuration: "2x" is not a duration (use 45s, 30m, 2h or 1d, at most 365d)`,
      expect.stringContaining(`${FILE}: resources[1].id: "Bad" is not a valid id`),
    ]);
  });
});

describe('parsePolicy YAML syntax errors', () => {
  it('reports line and column', () => {
    const problems = problemsOf('resources:\n  - id: a\n    roles: [1, 2\nadmins: []\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^breakglass\.yaml:4:1: YAML syntax error: /);
  });

  it('rejects duplicate keys with their position', () => {
    expect(problemsOf('resources: []\nresources: []\n')).toEqual([`${FILE}:2:1: YAML syntax error: Map keys must be unique`]);
  });
});

describe('loadPolicy', () => {
  const examplePath = path.join(__dirname, '../../breakglass.example.yaml');

  it('parses the example policy when its two environment variables are set', () => {
    const policy = loadPolicy(examplePath, ENV);
    expect(policy.sourcePath).toBe(examplePath);
    expect(policy.resources.map((resource) => resource.id)).toEqual(['payments-db', 'deploy-console', 'payments-k8s']);
    expect(policy.resources[0].provider).toEqual({ type: 'postgres', url: ENV.PAYMENTS_DB_ADMIN_URL, mode: 'membership', allowLoginAttributes: [] });
    expect(policy.resources[1].provider).toEqual({ type: 'webhook', url: 'http://127.0.0.1:9000/access', secret: 'hook-secret', timeoutMs: 10_000, legacySignature: false });
    expect(findRole(policy, 'payments-db', 'write')?.role).toMatchObject({ grant: 'payments_write', approvals: 2, maxDurationSeconds: 3_600 });
    expect(policy.identities.get('U0REQUESTER')).toBe('alice');
  });

  it('names both variables when the example is loaded without them', () => {
    expect(() => loadPolicy(examplePath, {})).toThrow(/PAYMENTS_DB_ADMIN_URL is not set[\s\S]*DEPLOY_HOOK_SECRET is not set/);
  });

  it('reads a file from disk and reports an unreadable one', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'breakglass-policy-'));
    const file = path.join(directory, 'policy.yaml');
    writeFileSync(file, stringify(basePolicy()));
    expect(loadPolicy(file, {}).resources).toHaveLength(1);
    const missing = path.join(directory, 'missing.yaml');
    expect(() => loadPolicy(missing, {})).toThrow(`${missing}: cannot read the policy file (ENOENT)`);
  });
});

describe('policy queries', () => {
  const policy = parsePolicy(GOOD_POLICY, FILE, ENV);

  it('matches principals by id, group membership or "*"', () => {
    const noGroups = new Set<string>();
    expect(principalMatches(['*'], 'U1', noGroups)).toBe(true);
    expect(principalMatches(['U1'], 'U1', noGroups)).toBe(true);
    expect(principalMatches(['U2'], 'U1', noGroups)).toBe(false);
    expect(principalMatches(['S0TEAM'], 'U1', noGroups)).toBe(false);
    expect(principalMatches(['S0TEAM'], 'U1', new Set(['S0TEAM']))).toBe(true);
    expect(principalMatches([], 'U1', new Set(['S0TEAM']))).toBe(false);
  });

  it('lists every referenced user group once, sorted', () => {
    expect(referencedGroupIds(policy)).toEqual(['S0PAYMENTS', 'S0SRELEADS']);
  });

  it('finds a role by resource and role id', () => {
    const found = findRole(policy, 'payments-db', 'write');
    expect(found?.resource.id).toBe('payments-db');
    expect(found?.role.grant).toBe('payments_write');
    expect(findRole(policy, 'payments-db', 'operator')).toBeNull();
    expect(findRole(policy, 'nope', 'read')).toBeNull();
  });

  it('lists the roles a user may request', () => {
    const ids = (groups: string[]) => requestableRoles(policy, 'U0SOMEONE', new Set(groups)).map(({ resource, role }) => `${resource.id}/${role.id}`);
    expect(ids([])).toEqual(['payments-db/read', 'deploy-console/operator']);
    expect(ids(['S0PAYMENTS'])).toEqual(['payments-db/read', 'payments-db/write', 'deploy-console/operator']);
  });
});

describe('parsePolicy revocation alerts', () => {
  it('alerts after 3 failed revokes and only in the incident channel by default', () => {
    expect(parsePolicy(stringify(basePolicy()), FILE, ENV).revokeAlerts).toEqual({ afterFailures: 3, securityChannel: null });
  });

  it('reads a security channel and the failure threshold', () => {
    const policy = basePolicy();
    policy.alerts = { securityChannel: 'C0SECURITY', afterFailedRevokes: 5 };
    expect(parsePolicy(stringify(policy), FILE, ENV).revokeAlerts).toEqual({ afterFailures: 5, securityChannel: 'C0SECURITY' });
  });

  it('rejects channel names, zero thresholds and unknown keys', () => {
    expect(problemsAfter((policy) => (policy.alerts = { securityChannel: '#security', afterFailedRevokes: 0, chanel: 'x' }))).toEqual([
      `${FILE}: alerts.chanel: unknown key (allowed keys: securityChannel, afterFailedRevokes)`,
      `${FILE}: alerts.afterFailedRevokes: 0 is not a whole number of at least 1`,
      `${FILE}: alerts.securityChannel: "#security" is not a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")`,
    ]);
  });
});

describe('parsePolicy audit', () => {
  it('publishes heads to no file by default, and to the absolute path audit.publishHead names', () => {
    expect(parsePolicy(stringify(basePolicy()), FILE, ENV).audit).toEqual({ publishHeadFile: null });
    const policy = basePolicy();
    policy.audit = { publishHead: '/var/lib/breakglass/audit-heads.jsonl' };
    expect(parsePolicy(stringify(policy), FILE, ENV).audit).toEqual({ publishHeadFile: '/var/lib/breakglass/audit-heads.jsonl' });
  });

  it('rejects a relative path and unknown keys', () => {
    expect(problemsAfter((policy) => (policy.audit = { publishHead: 'heads.jsonl' }))).toEqual([
      `${FILE}: audit.publishHead: "heads.jsonl" is not an absolute path (the file the published audit chain heads are appended to)`,
    ]);
    expect(problemsAfter((policy) => (policy.audit = { publishHeads: '/tmp/x' }))).toEqual([`${FILE}: audit.publishHeads: unknown key (did you mean "publishHead"?)`]);
  });
});

describe('postgres provider mode', () => {
  const withMode = (mode: unknown) => (policy: Record<string, any>) => (policy.resources[0].provider.mode = mode);
  const providerWith = (mode: unknown) => {
    const policy = basePolicy();
    withMode(mode)(policy);
    return parsePolicy(stringify(policy), FILE, ENV).resources[0].provider;
  };

  it('defaults to membership', () => {
    expect(parsePolicy(stringify(basePolicy()), FILE, ENV).resources[0].provider).toMatchObject({ type: 'postgres', mode: 'membership' });
  });

  it('accepts membership and temporary-login', () => {
    expect(providerWith('membership')).toEqual({ type: 'postgres', url: 'postgresql://admin@db/payments', mode: 'membership', allowLoginAttributes: [] });
    expect(providerWith('temporary-login')).toEqual({ type: 'postgres', url: 'postgresql://admin@db/payments', mode: 'temporary-login', allowLoginAttributes: [] });
  });

  it('names the allowed modes for anything else', () => {
    for (const [mode, shown] of [
      ['temporary', '"temporary"'],
      ['Membership', '"Membership"'],
      [true, 'true'],
      [['membership'], 'a list'],
    ]) {
      expect(problemsAfter(withMode(mode))).toEqual([`${FILE}: resources[0].provider.mode: ${shown} is not a postgres mode (use membership or temporary-login)`]);
    }
  });

  it('is only a postgres key', () => {
    expect(problemsAfter((policy) => (policy.resources[0].provider = { type: 'webhook', url: 'https://example.com/x', secret: 's', mode: 'membership' }))).toEqual([
      `${FILE}: resources[0].provider.mode: unknown key (allowed keys: type, url, secret, timeout, legacySignature)`,
    ]);
  });
});

describe('postgres provider allowLoginAttributes', () => {
  const withAllowed = (value: unknown) => (policy: Record<string, any>) => (policy.resources[0].provider.allowLoginAttributes = value);

  it('defaults to none and reads the attributes the policy allows, once each', () => {
    const policy = basePolicy();
    withAllowed(['createrole', 'bypassrls', 'createrole'])(policy);
    expect(parsePolicy(stringify(policy), FILE, ENV).resources[0].provider).toMatchObject({ type: 'postgres', allowLoginAttributes: ['createrole', 'bypassrls'] });
  });

  it('names the attributes it knows for anything else', () => {
    expect(problemsAfter(withAllowed(['CREATEROLE', 'replication']))).toEqual([
      `${FILE}: resources[0].provider.allowLoginAttributes[0]: "CREATEROLE" is not a login attribute the provider checks (use superuser, createrole or bypassrls)`,
      `${FILE}: resources[0].provider.allowLoginAttributes[1]: "replication" is not a login attribute the provider checks (use superuser, createrole or bypassrls)`,
    ]);
    expect(problemsAfter(withAllowed('createrole'))).toEqual([`${FILE}: resources[0].provider.allowLoginAttributes: expected a list, got "createrole"`]);
  });
});

describe('parsePolicy command providers', () => {
  const COMMAND_ENV = { K8S_TOKEN: 'k8s-token-s3cret', TOOLS: '/opt/breakglass' };

  function withProvider(provider: unknown): Record<string, any> {
    const policy = basePolicy();
    policy.resources[0].provider = provider;
    return policy;
  }

  const providerOf = (provider: unknown, env: NodeJS.ProcessEnv = COMMAND_ENV) => parsePolicy(stringify(withProvider(provider)), FILE, env).resources[0].provider;
  const problemsWith = (provider: unknown, env: NodeJS.ProcessEnv = COMMAND_ENV) => problemsOf(stringify(withProvider(provider)), env);

  it('reads every key, with ${VAR} in arguments and env values', () => {
    expect(
      providerOf({
        type: 'command',
        grant: ['${TOOLS}/access', 'grant', '--user={login}', '{grant}'],
        revoke: ['${TOOLS}/access', 'revoke', '--user={login}', '{grant}'],
        verify: ['access', 'verify', '{login}', '{grant}', '{role}', '{resource}', '{slackId}'],
        extend: ['access', 'extend', '{requestId}', 'BG-{requestNumber}', '--until={expiresAt}'],
        timeout: '1m',
        env: { K8S_TOKEN: '${K8S_TOKEN}', MODE: 'strict' },
      }),
    ).toEqual({
      type: 'command',
      grant: ['/opt/breakglass/access', 'grant', '--user={login}', '{grant}'],
      revoke: ['/opt/breakglass/access', 'revoke', '--user={login}', '{grant}'],
      verify: ['access', 'verify', '{login}', '{grant}', '{role}', '{resource}', '{slackId}'],
      extend: ['access', 'extend', '{requestId}', 'BG-{requestNumber}', '--until={expiresAt}'],
      timeoutMs: 60_000,
      env: { K8S_TOKEN: 'k8s-token-s3cret', MODE: 'strict' },
    });
  });

  it('defaults to no verify or extend command, a 30s timeout and no extra env', () => {
    expect(providerOf({ type: 'command', grant: ['grant-access'], revoke: ['revoke-access'] })).toEqual({
      type: 'command',
      grant: ['grant-access'],
      revoke: ['revoke-access'],
      verify: null,
      extend: null,
      timeoutMs: 30_000,
      env: {},
    });
  });

  it('requires grant and revoke as non-empty lists of text', () => {
    expect(problemsWith({ type: 'command', verify: 'access verify', extend: [] })).toEqual([
      `${FILE}: resources[0].provider.grant: missing`,
      `${FILE}: resources[0].provider.revoke: missing`,
      `${FILE}: resources[0].provider.verify: expected a list, got "access verify"`,
      `${FILE}: resources[0].provider.extend: must not be empty; give the executable, then its arguments`,
    ]);
    expect(problemsWith({ type: 'command', grant: ['', 'grant'], revoke: ['revoke', 3, { a: 1 }] })).toEqual([
      `${FILE}: resources[0].provider.grant[0]: must not be empty`,
      `${FILE}: resources[0].provider.revoke[1]: expected text, got 3`,
      `${FILE}: resources[0].provider.revoke[2]: expected text, got a mapping`,
    ]);
  });

  it('names the allowed placeholders when an argument uses an unknown one', () => {
    const allowed = '{login}, {grant}, {role}, {resource}, {requestId}, {requestNumber}, {expiresAt} or {slackId}';
    expect(problemsWith({ type: 'command', grant: ['access', '--user={user}', '{Login}-{reason}'], revoke: ['access', '{ticket}'] })).toEqual([
      `${FILE}: resources[0].provider.grant[1]: {user} is not a placeholder (use ${allowed})`,
      `${FILE}: resources[0].provider.grant[2]: {Login} is not a placeholder (use ${allowed})`,
      `${FILE}: resources[0].provider.grant[2]: {reason} is not a placeholder (use ${allowed})`,
      `${FILE}: resources[0].provider.revoke[1]: {ticket} is not a placeholder (use ${allowed})`,
    ]);
  });

  it('checks placeholders in what was written, not in ${VAR} values or literal $${…}', () => {
    const provider = providerOf({ type: 'command', grant: ['access', '${ARG}', '$${HOME}'], revoke: ['access'] }, { ARG: '--template={.metadata.name}-{custom}' });
    expect(provider).toMatchObject({ grant: ['access', '--template={.metadata.name}-{custom}', '${HOME}'] });
  });

  it('checks env names and values without repeating the values', () => {
    const problems = problemsWith({
      type: 'command',
      grant: ['access'],
      revoke: ['access'],
      env: { 'BAD-NAME': 'hunter2-value', BREAKGLASS_LOGIN: 'mallory', EMPTY: '', NUMBER: 12345, MISSING: '${NOT_SET}' },
    });
    expect(problems).toEqual([
      `${FILE}: resources[0].provider.env.BAD-NAME: is not a valid environment variable name (letters, digits and "_", not starting with a digit)`,
      `${FILE}: resources[0].provider.env.BREAKGLASS_LOGIN: names starting with BREAKGLASS_ are set by Breakglass itself`,
      `${FILE}: resources[0].provider.env.EMPTY: must not be empty`,
      `${FILE}: resources[0].provider.env.NUMBER: expected text, got something else`,
      `${FILE}: resources[0].provider.env.MISSING: environment variable NOT_SET is not set (referenced as \${NOT_SET})`,
    ]);
    for (const secret of ['hunter2-value', 'mallory', '12345']) expect(problems.join('\n')).not.toContain(secret);
    expect(problemsWith({ type: 'command', grant: ['access'], revoke: ['access'], env: ['A=b'] })).toEqual([
      `${FILE}: resources[0].provider.env: expected a mapping of variable names to text`,
    ]);
  });

  it('checks the timeout and unknown keys', () => {
    expect(problemsWith({ type: 'command', grant: ['access'], revoke: ['access'], timeout: 30, shell: true })).toEqual([
      `${FILE}: resources[0].provider.shell: unknown key (allowed keys: type, grant, revoke, verify, extend, timeout, env)`,
      `${FILE}: resources[0].provider.timeout: 30 is not a duration (use 45s, 30m, 2h or 1d; add a unit, at most 365d)`,
    ]);
  });

  it('reads the command resource of the example policy', () => {
    const policy = loadPolicy(path.join(__dirname, '../../breakglass.example.yaml'), ENV);
    const found = findRole(policy, 'payments-k8s', 'edit');
    expect(found?.resource.provider).toEqual({
      type: 'command',
      grant: ['/opt/breakglass/k8s-rolebinding', 'grant', 'payments', '{login}', '{grant}'],
      revoke: ['/opt/breakglass/k8s-rolebinding', 'revoke', 'payments', '{login}', '{grant}'],
      verify: ['/opt/breakglass/k8s-rolebinding', 'verify', 'payments', '{login}', '{grant}'],
      extend: null,
      timeoutMs: 20_000,
      env: { KUBECONFIG: '/etc/breakglass/kubeconfig' },
    });
    expect(found?.role).toMatchObject({ grant: 'edit', approvals: 2, approvers: ['S0SRELEADS'] });
  });
});

describe('parsePolicy provider timeouts', () => {
  it('caps webhook and command timeouts at 60s', () => {
    const withTimeout = (timeout: string) => (policy: Record<string, any>) =>
      policy.resources.push(
        { id: 'hook', provider: { type: 'webhook', url: 'https://hooks.internal/x', secret: 's', timeout }, approvers: ['U1'], roles: [{ id: 'r' }] },
        { id: 'cmd', provider: { type: 'command', grant: ['/bin/true'], revoke: ['/bin/true'], timeout }, approvers: ['U1'], roles: [{ id: 'r' }] },
      );
    const accepted = basePolicy();
    withTimeout('60s')(accepted);
    expect(parsePolicy(stringify(accepted), FILE, ENV).resources.map((resource) => resource.provider)).toEqual([
      expect.objectContaining({ type: 'postgres' }),
      expect.objectContaining({ type: 'webhook', timeoutMs: 60_000 }),
      expect.objectContaining({ type: 'command', timeoutMs: 60_000 }),
    ]);
    expect(problemsAfter(withTimeout('2m'))).toEqual([
      `${FILE}: resources[1].provider.timeout: "2m" is too long: at most 60s, so a grant that hangs is rolled back rather than taken for a live one`,
      `${FILE}: resources[2].provider.timeout: "2m" is too long: at most 60s, so a grant that hangs is rolled back rather than taken for a live one`,
    ]);
  });
});

describe('who may request where, and whose e-mail gives a login', () => {
  it('reads loginEmailDomains in lower case', () => {
    const policy = parsePolicy(stringify({ ...basePolicy(), loginEmailDomains: ['Example.com', 'corp.example.org'] }), FILE, {});
    expect(policy.loginEmailDomains).toEqual(['example.com', 'corp.example.org']);
  });

  it('refuses what is not a domain', () => {
    expect(problemsAfter((policy) => (policy.loginEmailDomains = ['@example.com', 'localhost', 'example.com', 'EXAMPLE.com']))).toEqual([
      `${FILE}: loginEmailDomains[0]: "@example.com" is not an e-mail domain (write the domain alone, e.g. example.com, without "@")`,
      `${FILE}: loginEmailDomains[1]: "localhost" is not an e-mail domain (e.g. example.com)`,
      `${FILE}: loginEmailDomains[3]: "EXAMPLE.com" is listed twice`,
    ]);
    expect(problemsAfter((policy) => (policy.loginEmailDomains = 'example.com'))).toEqual([`${FILE}: loginEmailDomains: expected a list, got "example.com"`]);
  });

  it('inherits requestChannels role → resource → defaults, and null allows anywhere again', () => {
    const policy = basePolicy();
    policy.defaults = { requestChannels: ['C0INCIDENT'] };
    policy.resources[0].roles[0].requestChannels = ['C0DBA', 'G0PRIVATE'];
    policy.resources[0].roles[1].requestChannels = null;
    policy.resources.push({ id: 'other', provider: { type: 'postgres', url: 'postgresql://admin@db/x' }, approvers: ['U0APPROVER1'], roles: [{ id: 'op' }] });
    const parsed = parsePolicy(stringify(policy), FILE, {});
    expect(parsed.resources[0].roles.map((role) => role.requestChannels)).toEqual([['C0DBA', 'G0PRIVATE'], null]);
    expect(parsed.resources[1].roles[0].requestChannels).toEqual(['C0INCIDENT']);
  });

  it('refuses channel names, empty lists and repeats in requestChannels', () => {
    expect(
      problemsAfter((policy) => {
        policy.resources[0].requestChannels = ['#incidents', 'C0ONE', 'C0ONE'];
        policy.resources[0].roles[0].requestChannels = [];
      }),
    ).toEqual([
      `${FILE}: resources[0].requestChannels[0]: "#incidents" is not a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")`,
      `${FILE}: resources[0].requestChannels[2]: "C0ONE" is listed twice`,
      `${FILE}: resources[0].roles[0].requestChannels: must list at least one channel id; leave it out (or write null) to allow any channel`,
    ]);
  });

  it('reads defaults.requestsPerHour, a whole number of at least 1', () => {
    expect(parsePolicy(stringify({ ...basePolicy(), defaults: { requestsPerHour: 3 } }), FILE, {}).requestsPerHour).toBe(3);
    expect(problemsAfter((policy) => (policy.defaults = { requestsPerHour: 0 }))).toEqual([`${FILE}: defaults.requestsPerHour: 0 is not a whole number of at least 1`]);
  });
});
