import { stringify } from 'yaml';
import { parseCommand } from '../../src/domain/command';
import { incidentClosedFor, planIncidentClose, type IncidentRequest } from '../../src/domain/incident-close';
import { PolicyError, parsePolicy } from '../../src/policy/load-policy';
import { summaryDestination } from '../../src/slack/deliveries/summary-destination';

const FILE = 'incident.yaml';

function policy(extra: { defaults?: object; resource?: object; role?: object } = {}) {
  return {
    ...(extra.defaults ? { defaults: extra.defaults } : {}),
    resources: [
      { id: 'db', provider: { type: 'postgres', url: 'postgresql://admin@db/x' }, approvers: ['U0APPROVER1'], ...extra.resource, roles: [{ id: 'a', ...extra.role }, { id: 'b' }] },
    ],
  };
}

function problems(yamlText: string): string[] {
  try {
    parsePolicy(yamlText, FILE, {});
  } catch (error) {
    if (error instanceof PolicyError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the policy to be rejected');
}

describe('policy endWithIncident', () => {
  it('defaults to true', () => {
    expect(parsePolicy(stringify(policy()), FILE, {}).resources[0].roles.map((role) => role.endWithIncident)).toEqual([true, true]);
  });

  it('inherits role → resource → defaults', () => {
    const parsed = parsePolicy(stringify(policy({ defaults: { endWithIncident: false }, role: { endWithIncident: true } })), FILE, {});
    expect(parsed.resources[0].roles.map((role) => role.endWithIncident)).toEqual([true, false]);
    const byResource = parsePolicy(stringify(policy({ resource: { endWithIncident: false } })), FILE, {});
    expect(byResource.resources[0].roles.map((role) => role.endWithIncident)).toEqual([false, false]);
  });

  it('refuses anything but true or false, with a pointed message', () => {
    expect(problems(stringify(policy({ role: { endWithIncident: 'yes' } })))).toEqual([
      `${FILE}: resources[0].roles[0].endWithIncident: "yes" is not true or false (true: grants of this role end when the incident channel they were requested in is archived or closed)`,
    ]);
  });
});

describe('/breakglass incident close parsing', () => {
  it('reads `incident close`, any case', () => {
    expect(parseCommand('incident close')).toEqual({ kind: 'incident-close' });
    expect(parseCommand('Incident CLOSE')).toEqual({ kind: 'incident-close' });
  });

  it('explains anything else', () => {
    for (const text of ['incident', 'incident open', 'incident close now']) {
      const parsed = parseCommand(text);
      expect(parsed.kind).toBe('invalid');
      expect(parsed.kind === 'invalid' && parsed.message).toContain('`incident` takes one word: `close`');
      expect(parsed.kind === 'invalid' && parsed.message).toContain('Usage: `/breakglass incident close`');
    }
  });
});

describe('planIncidentClose', () => {
  const request = (number: number, status: IncidentRequest['status'], requesterId = 'U0A'): IncidentRequest => ({
    id: `id-${number}`,
    number,
    status,
    requesterId,
    resourceId: 'db',
    roleId: 'a',
    expiresAt: null,
  });

  it('ends granted access, closes what waits, and lists what the person may not end, in request order', () => {
    const plan = planIncidentClose('C0X', [request(3, 'PENDING'), request(1, 'ACTIVE'), request(2, 'APPROVED'), request(4, 'ACTIVE', 'U0B')], (r) => r.requesterId === 'U0A');
    expect(plan.end.map((item) => item.humanId)).toEqual(['BG-1', 'BG-2']);
    expect(plan.cancel.map((item) => item.humanId)).toEqual(['BG-3']);
    expect(plan.notAllowed.map((item) => item.humanId)).toEqual(['BG-4']);
  });

  it('counts a request as part of a closed incident only when it was made before the close', () => {
    const createdAt = new Date('2026-12-05T08:00:00Z');
    expect(incidentClosedFor(createdAt, null)).toBe(false);
    expect(incidentClosedFor(createdAt, new Date('2026-12-05T07:59:59Z'))).toBe(false);
    expect(incidentClosedFor(createdAt, new Date('2026-12-05T08:30:00Z'))).toBe(true);
  });
});

describe('summaryDestination', () => {
  it('is the channel while it is open; the security channel and the requesters once it is archived', () => {
    expect(summaryDestination('C0X', { archived: false, securityChannel: 'C0SEC' })).toEqual({ channel: 'C0X', toRequesters: false });
    expect(summaryDestination('C0X', { archived: true, securityChannel: 'C0SEC' })).toEqual({ channel: 'C0SEC', toRequesters: true });
    expect(summaryDestination('C0X', { archived: true, securityChannel: null })).toEqual({ channel: null, toRequesters: true });
  });
});
