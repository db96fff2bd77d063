import { stringify } from 'yaml';
import { onCallAt, type Rotation } from '../../src/domain/on-call';
import { PolicyError, parsePolicy } from '../../src/policy/load-policy';
import { principalMatches, referencedOnCallPrincipals } from '../../src/policy/policy-queries';

const FILE = 'breakglass.yaml';
const TOKEN_ENV = { PAGERDUTY_TOKEN: 'pd-token' };

/** A valid policy with a rotation and both kinds of on-call approvers, as a plain object to break one thing in. */
function onCallPolicy(): Record<string, any> {
  return {
    schedules: { primary: { rotation: ['U0ANNA', 'U0BEN', 'U0CHLOE'], every: '7d', start: '2026-01-05T09:00:00+01:00' } },
    resources: [
      {
        id: 'payments-db',
        provider: { type: 'postgres', url: 'postgresql://admin@db/payments' },
        approvers: ['schedule:primary', 'pagerduty:PABC123', 'U0APPROVER1'],
        roles: [{ id: 'read' }, { id: 'write', approvals: 3 }],
      },
    ],
  };
}

function problemsAfter(change: (policy: Record<string, any>) => void, env: NodeJS.ProcessEnv = TOKEN_ENV): string[] {
  const policy = onCallPolicy();
  change(policy);
  try {
    parsePolicy(stringify(policy), FILE, env);
  } catch (error) {
    if (error instanceof PolicyError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the policy to be rejected');
}

describe('rotation arithmetic (onCallAt)', () => {
  const rotation: Rotation = { rotation: ['U0ANNA', 'U0BEN', 'U0CHLOE'], everySeconds: 7 * 86_400, start: new Date('2026-01-05T08:00:00Z') };
  const at = (iso: string) => onCallAt(rotation, new Date(iso));

  it('hands over exactly at each boundary and wraps around', () => {
    expect(at('2026-01-05T08:00:00Z')).toBe('U0ANNA');
    expect(at('2026-01-12T07:59:59.999Z')).toBe('U0ANNA');
    expect(at('2026-01-12T08:00:00Z')).toBe('U0BEN');
    expect(at('2026-01-19T08:00:00Z')).toBe('U0CHLOE');
    expect(at('2026-01-26T08:00:00Z')).toBe('U0ANNA');
    // A year on: 52 weeks after the start is slot 52, and 52 mod 3 = 1.
    expect(at('2027-01-04T08:00:00Z')).toBe('U0BEN');
  });

  it('has nobody on call before the start', () => {
    expect(at('2026-01-05T07:59:59Z')).toBeNull();
  });

  it('reads one instant the same whatever offset it is written in', () => {
    expect(at('2026-01-12T09:00:00+01:00')).toBe('U0BEN');
    expect(at('2026-01-12T03:00:00-05:00')).toBe('U0BEN');
    expect(at('2026-01-12T08:59:59+01:00')).toBe('U0ANNA');
  });

  it('counts elapsed time: a 09:00 Berlin handover becomes 10:00 Berlin time once summer time starts', () => {
    // Summer time in Berlin starts on 29 March 2026; the handover on Monday 30 March is still at 08:00 UTC.
    const berlin = (iso: string) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
    const handover = new Date(rotation.start.getTime() + 12 * 7 * 86_400_000);
    expect(handover.toISOString()).toBe('2026-03-30T08:00:00.000Z');
    expect(berlin(handover.toISOString())).toBe('10:00');
    expect(onCallAt(rotation, new Date(handover.getTime() - 1))).toBe('U0CHLOE');
    expect(onCallAt(rotation, handover)).toBe('U0ANNA');
  });

  it('handles short turns and a rotation of one', () => {
    const hourly: Rotation = { rotation: ['U0ANNA', 'U0BEN'], everySeconds: 3_600, start: new Date('2026-01-05T00:00:00Z') };
    expect(onCallAt(hourly, new Date('2026-01-05T23:30:00Z'))).toBe('U0BEN');
    expect(onCallAt({ ...hourly, rotation: ['U0SOLO'] }, new Date('2030-01-01T00:00:00Z'))).toBe('U0SOLO');
  });
});

describe('the schedules section and on-call principals', () => {
  it('reads rotations into the policy and keeps on-call approvers as written', () => {
    const policy = parsePolicy(stringify(onCallPolicy()), FILE, TOKEN_ENV);
    expect(policy.schedules?.get('primary')).toEqual({
      rotation: ['U0ANNA', 'U0BEN', 'U0CHLOE'],
      everySeconds: 7 * 86_400,
      start: new Date('2026-01-05T08:00:00Z'),
    });
    expect(policy.resources[0].roles[0].approvers).toEqual(['schedule:primary', 'pagerduty:PABC123', 'U0APPROVER1']);
    expect(referencedOnCallPrincipals(policy)).toEqual(['pagerduty:PABC123', 'schedule:primary']);
  });

  it('does not count on-call schedules as too few approvers (nobody knows who is on call ahead)', () => {
    // write needs 3 approvals from three principals, two of them schedules: accepted.
    expect(() => parsePolicy(stringify(onCallPolicy()), FILE, TOKEN_ENV)).not.toThrow();
  });

  it('refuses a schedule: principal the schedules section does not have, with a hint', () => {
    expect(problemsAfter((p) => (p.resources[0].approvers[0] = 'schedule:primay'))).toEqual([
      `${FILE}: resources[0].approvers[0]: "schedule:primay" names no schedule in "schedules" (did you mean "schedule:primary"?)`,
    ]);
    expect(problemsAfter((p) => (p.resources[0].approvers[0] = 'schedule:weekend'))).toEqual([
      `${FILE}: resources[0].approvers[0]: "schedule:weekend" names no schedule in "schedules" (schedules: primary)`,
    ]);
    expect(problemsAfter((p) => delete p.schedules)).toEqual([
      `${FILE}: resources[0].approvers[0]: "schedule:primary" names a schedule, but the policy has no "schedules" section`,
    ]);
  });

  it('checks pagerduty: ids and wants PAGERDUTY_TOKEN', () => {
    expect(problemsAfter((p) => (p.resources[0].approvers[1] = 'pagerduty:https://acme.pagerduty.com/schedules/PABC123'))).toEqual([
      `${FILE}: resources[0].approvers[1]: "pagerduty:https://acme.pagerduty.com/schedules/PABC123" is not a PagerDuty schedule id (pagerduty:P…, e.g. pagerduty:PABC123: the id at the end of the schedule's URL)`,
    ]);
    expect(problemsAfter((p) => (p.resources[0].approvers[1] = 'pagerduty:pabc123'))[0]).toContain('is not a PagerDuty schedule id');
    expect(problemsAfter(() => {}, {})).toEqual([
      `${FILE}: resources[0].approvers[1]: "pagerduty:PABC123" needs PAGERDUTY_TOKEN (a read-only PagerDuty REST API key) to look up who is on call`,
    ]);
  });

  it('allows on-call schedules only among approvers', () => {
    expect(problemsAfter((p) => (p.resources[0].requesters = ['schedule:primary']))).toEqual([
      `${FILE}: resources[0].requesters[0]: "schedule:primary" is not a Slack user id (U…/W…) or user-group id (S…), or "*" for everyone`,
    ]);
    expect(problemsAfter((p) => (p.resources[0].approvers[2] = 'oncall'))).toEqual([
      `${FILE}: resources[0].approvers[2]: "oncall" is not a Slack user id (U…/W…) or user-group id (S…), an on-call schedule (schedule:<name> or pagerduty:<SCHEDULE_ID>)`,
    ]);
  });

  it('validates each rotation with pointed messages', () => {
    const rotationProblems = (rotation: unknown) => problemsAfter((p) => (p.schedules.primary = rotation));
    expect(rotationProblems({ rotation: ['U0ANNA'], every: '7x', start: '2026-01-05T09:00:00Z' })).toEqual([
      `${FILE}: schedules.primary.every: "7x" is not a duration (e.g. 12h, 1d, 7d; at most 365d)`,
    ]);
    expect(rotationProblems({ rotation: ['U0ANNA'], every: '7d', start: '2026-01-05T09:00:00' })).toEqual([
      `${FILE}: schedules.primary.start: "2026-01-05T09:00:00" is not an ISO time with an offset, e.g. "2026-01-05T09:00:00+01:00" or "2026-01-05T08:00:00Z" (quote it)`,
    ]);
    expect(rotationProblems({ rotation: ['U0ANNA'], every: '7d', start: '2026-02-30T09:00:00Z' })[0]).toContain('is not an ISO time with an offset');
    expect(rotationProblems({ rotation: ['U0ANNA', 'anna'], every: '7d', start: '2026-01-05T09:00:00Z' })).toEqual([
      `${FILE}: schedules.primary.rotation[1]: is not a Slack user id (U…/W…)`,
    ]);
    expect(rotationProblems({ rotation: [], every: '7d', start: '2026-01-05T09:00:00Z' })).toEqual([`${FILE}: schedules.primary.rotation: must list at least one Slack user id`]);
    expect(rotationProblems({ every: '7d' })).toEqual([
      `${FILE}: schedules.primary.rotation: missing; list the Slack user ids (U…) in the order they take turns`,
      `${FILE}: schedules.primary.start: missing; when the first person's turn begins, e.g. "2026-01-05T09:00:00+01:00"`,
    ]);
    expect(rotationProblems({ rotaton: ['U0ANNA'], rotation: ['U0ANNA'], every: '7d', start: '2026-01-05T09:00:00Z' })).toEqual([
      `${FILE}: schedules.primary.rotaton: unknown key (did you mean "rotation"?)`,
    ]);
    expect(rotationProblems('weekly')).toEqual([`${FILE}: schedules.primary: expected a mapping with rotation, every and start, got "weekly"`]);
  });

  it('checks schedule names and the section’s shape', () => {
    expect(problemsAfter((p) => (p.schedules = ['primary']))).toContainEqual(`${FILE}: schedules: expected a mapping of schedule name to { rotation, every, start }, got a list`);
    expect(problemsAfter((p) => (p.schedules['Primary Rota'] = p.schedules.primary))).toContainEqual(
      `${FILE}: schedules.Primary Rota: is not a valid schedule name (lowercase letters, digits, "-" and "_", starting with a letter or digit)`,
    );
    expect(problemsAfter((p) => (p.schedulez = {}))).toContainEqual(`${FILE}: schedulez: unknown key (did you mean "schedules"?)`);
  });
});

describe('principalMatches with on-call memberships', () => {
  it('matches an on-call schedule only for someone on call for it now', () => {
    const approvers = ['schedule:primary', 'pagerduty:PABC123', 'U0APPROVER1', 'S0SRE'];
    expect(principalMatches(approvers, 'U0ANNA', new Set(['schedule:primary']))).toBe(true);
    expect(principalMatches(approvers, 'U0ANNA', new Set(['pagerduty:PABC123']))).toBe(true);
    expect(principalMatches(approvers, 'U0ANNA', new Set(['schedule:other']))).toBe(false);
    expect(principalMatches(approvers, 'U0ANNA', new Set())).toBe(false);
    expect(principalMatches(approvers, 'U0APPROVER1', new Set())).toBe(true);
    expect(principalMatches(approvers, 'U0X', new Set(['S0SRE']))).toBe(true);
  });
});
