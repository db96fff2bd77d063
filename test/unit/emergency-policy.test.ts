import { PolicyError, parsePolicy } from '../../src/policy/load-policy';
import { findRole, referencedGroupIds } from '../../src/policy/policy-queries';

const FILE = 'breakglass.yaml';

/** A policy whose emergency blocks are given per level (YAML flow mappings, or undefined). */
function policy(levels: { defaults?: string; resource?: string; write?: string; read?: string; extra?: string }): string {
  const at = (block: string | undefined) => (block === undefined ? '' : `, emergency: ${block}`);
  return `
defaults: { maxDuration: 4h, approvals: 1${at(levels.defaults)} }
${levels.extra ?? ''}
resources:
  - id: payments-db
    provider: { type: postgres, url: "postgresql://admin@db/payments" }
    approvers: [U0APPROVER1, S0SRELEADS]
${levels.resource === undefined ? '' : `    emergency: ${levels.resource}\n`}    roles:
      - { id: write, maxDuration: 1h${at(levels.write)} }
      - { id: read, maxDuration: 8h${at(levels.read)} }
`;
}

function problemsOf(yamlText: string): string[] {
  try {
    parsePolicy(yamlText, FILE, {});
  } catch (error) {
    if (error instanceof PolicyError) return [...error.problems];
    throw error;
  }
  return [];
}

const roleOf = (yamlText: string, roleId: string) => findRole(parsePolicy(yamlText, FILE, {}), 'payments-db', roleId)!.role;

describe('policy: emergency', () => {
  it('is off unless allowed', () => {
    expect(roleOf(policy({}), 'write').emergency).toBeUndefined();
    expect(roleOf(policy({ resource: '{ allowed: false, reviewers: [U0SEC] }' }), 'write').emergency).toBeUndefined();
  });

  it('resolves role → resource → defaults key by key, with reviewWithin 24h, after 10m and the role’s maxDuration by default', () => {
    const text = policy({
      defaults: '{ reviewers: [U0SEC, S0SECURITY], notify: [C0NOTIFY] }',
      resource: '{ allowed: true, reviewWithin: 2h }',
      write: '{ maxDuration: 30m, after: 0 }',
      read: '{ notify: [C0OTHER], after: 5m }',
    });
    expect(roleOf(text, 'write').emergency).toEqual({
      maxDurationSeconds: 1800,
      reviewers: ['U0SEC', 'S0SECURITY'],
      reviewWithinSeconds: 7200,
      notify: ['C0NOTIFY'],
      afterSeconds: 0,
    });
    expect(roleOf(text, 'read').emergency).toEqual({
      maxDurationSeconds: 8 * 3600,
      reviewers: ['U0SEC', 'S0SECURITY'],
      reviewWithinSeconds: 7200,
      notify: ['C0OTHER'],
      afterSeconds: 300,
    });
    const defaulted = roleOf(policy({ resource: '{ allowed: true, reviewers: [U0SEC] }' }), 'write').emergency;
    expect(defaulted).toEqual({ maxDurationSeconds: 3600, reviewers: ['U0SEC'], reviewWithinSeconds: 86_400, notify: [], afterSeconds: 600 });
  });

  it('lets a role turn an inherited block off with null', () => {
    const text = policy({ resource: '{ allowed: true, reviewers: [U0SEC] }', read: 'null' });
    expect(roleOf(text, 'write').emergency).not.toBeNull();
    expect(roleOf(text, 'read').emergency).toBeUndefined();
  });

  it('looks up the members of reviewer groups like approver groups', () => {
    expect(referencedGroupIds(parsePolicy(policy({ resource: '{ allowed: true, reviewers: [S0SECURITY] }' }), FILE, {}))).toEqual(['S0SECURITY', 'S0SRELEADS']);
  });

  it.each([
    ['a typo in a key', '{ allowed: true, reviewers: [U0SEC], reviewWithn: 1h }', 'resources[0].emergency.reviewWithn: unknown key (did you mean "reviewWithin"?)'],
    [
      'allowed that is not a boolean',
      '{ allowed: yes please, reviewers: [U0SEC] }',
      'resources[0].emergency.allowed: expected true or false (emergency access is off unless allowed: true)',
    ],
    [
      'a bad duration',
      '{ allowed: true, reviewers: [U0SEC], maxDuration: soon }',
      'resources[0].emergency.maxDuration: "soon" is not a duration; use 45s, 30m, 2h or 1d (the longest an emergency grant may last)',
    ],
    [
      'a bad after',
      '{ allowed: true, reviewers: [U0SEC], after: -1 }',
      'resources[0].emergency.after: -1 is not a duration; use 0 (at once), 45s, 10m or 1h (how long a request waits before its requester may break the glass)',
    ],
    [
      'a notify entry that is no channel id',
      '{ allowed: true, reviewers: [U0SEC], notify: ["#security"] }',
      'resources[0].emergency.notify[0]: "#security" is not a Slack channel id (C… or G…; in Slack: channel details → "Copy channel ID")',
    ],
    [
      'a reviewer that is no principal',
      '{ allowed: true, reviewers: [alice] }',
      'resources[0].emergency.reviewers[0]: "alice" is not a Slack user id (U…/W…) or user-group id (S…), an on-call schedule (schedule:<name> or pagerduty:<SCHEDULE_ID>)',
    ],
    ['"*" as reviewer', '{ allowed: true, reviewers: ["*"] }', 'resources[0].emergency.reviewers[0]: "*" is not allowed here; name the people (U…) or user groups (S…)'],
    ['a list instead of a mapping', '[allowed]', 'resources[0].emergency: expected a mapping: { allowed, maxDuration, reviewers, reviewWithin, notify, after }'],
  ])('refuses %s at start-up with a pointed message', (_what, block, problem) => {
    expect(problemsOf(policy({ resource: block }))).toContain(`${FILE}: ${problem}`);
  });

  it('refuses an allowed block without reviewers, or longer than the role allows, naming the role', () => {
    expect(problemsOf(policy({ resource: '{ allowed: true }' }))).toEqual([
      `${FILE}: resources[0].roles[0].emergency.reviewers: missing; emergency access is allowed, so name who reviews its grants afterwards (user ids U…, user groups S…), on the role, its resource or in defaults`,
      `${FILE}: resources[0].roles[1].emergency.reviewers: missing; emergency access is allowed, so name who reviews its grants afterwards (user ids U…, user groups S…), on the role, its resource or in defaults`,
    ]);
    expect(problemsOf(policy({ resource: '{ allowed: true, reviewers: [U0SEC], maxDuration: 2h }' }))).toEqual([
      `${FILE}: resources[0].roles[0].emergency.maxDuration: 2h is longer than the role's maxDuration (1h); an emergency grant must not outlast an approved one`,
    ]);
  });
});
