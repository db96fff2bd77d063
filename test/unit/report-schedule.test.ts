import { stringify } from 'yaml';
import { latestSlot, nextSlot, parseReportTime } from '../../src/domain/report-schedule';
import { PolicyError, parsePolicy } from '../../src/policy/load-policy';

const weeklyBerlin = { everyDays: 7, weekday: 1, hour: 9, minute: 0, timeZone: 'Europe/Berlin' };

describe('when the digest is due', () => {
  test('weekly on Monday 09:00 Berlin time, across the end of daylight saving time', () => {
    // Sunday 2026-10-25 the clocks went back: 09:00 is 07:00Z before, 08:00Z after.
    expect(latestSlot(weeklyBerlin, new Date('2026-10-26T07:59:00Z'))).toEqual({ start: new Date('2026-10-12T07:00:00Z'), end: new Date('2026-10-19T07:00:00Z') });
    expect(latestSlot(weeklyBerlin, new Date('2026-10-26T08:00:00Z'))).toEqual({ start: new Date('2026-10-19T07:00:00Z'), end: new Date('2026-10-26T08:00:00Z') });
    expect(latestSlot(weeklyBerlin, new Date('2026-10-29T12:00:00Z')).end).toEqual(new Date('2026-10-26T08:00:00Z'));
    expect(nextSlot(weeklyBerlin, new Date('2026-10-29T12:00:00Z'))).toEqual(new Date('2026-11-02T08:00:00Z'));
  });

  test('daily at 18:30 in New York; every 14 days on Fridays', () => {
    const daily = { everyDays: 1, weekday: null, hour: 18, minute: 30, timeZone: 'America/New_York' };
    expect(latestSlot(daily, new Date('2026-07-01T12:00:00Z'))).toEqual({ start: new Date('2026-06-29T22:30:00Z'), end: new Date('2026-06-30T22:30:00Z') });
    const fortnightly = { everyDays: 14, weekday: 5, hour: 9, minute: 0, timeZone: 'UTC' };
    const { start, end } = latestSlot(fortnightly, new Date('2026-11-20T10:00:00Z'));
    expect(end.getUTCDay()).toBe(5);
    expect(end.getTime() - start.getTime()).toBe(14 * 86_400_000);
    expect(latestSlot(fortnightly, new Date(end.getTime() + 13 * 86_400_000)).end).toEqual(end);
  });

  test('times as people write them', () => {
    expect(parseReportTime('mon 09:00')).toEqual({ weekday: 1, hour: 9, minute: 0 });
    expect(parseReportTime('Friday 17:45')).toEqual({ weekday: 5, hour: 17, minute: 45 });
    expect(parseReportTime('7:05')).toEqual({ weekday: null, hour: 7, minute: 5 });
    for (const bad of ['monday', 'mon 24:00', 'funday 09:00', '09:60', '9am']) expect(parseReportTime(bad)).toBeNull();
  });
});

describe('the reports policy section', () => {
  const base = (reports: unknown, alerts: unknown = { securityChannel: 'C0SECURITY' }) =>
    stringify({ alerts, reports, resources: [{ id: 'db', provider: { type: 'postgres', url: 'postgresql://admin@db/x' }, approvers: ['U0A'], roles: [{ id: 'read' }] }] });
  const problems = (yamlText: string) => {
    try {
      parsePolicy(yamlText, 'p.yaml', {});
    } catch (err) {
      if (err instanceof PolicyError) return [...err.problems];
      throw err;
    }
    throw new Error('expected a refusal');
  };

  test('defaults: weekly, Monday 09:00 UTC, in the security channel', () => {
    expect(parsePolicy(base({}), 'p.yaml', {}).reports).toMatchObject({ channel: 'C0SECURITY', every: '7d', at: 'mon 09:00', timezone: 'UTC', schedule: weeklyBerlinLike('UTC') });
    expect(parsePolicy(base({ channel: 'C0REVIEW', every: '1d', at: '08:30', timezone: 'Europe/Berlin' }), 'p.yaml', {}).reports?.schedule).toEqual({
      everyDays: 1,
      weekday: null,
      hour: 8,
      minute: 30,
      timeZone: 'Europe/Berlin',
    });
    expect(parsePolicy(base(undefined), 'p.yaml', {}).reports).toBeNull();
  });

  test('pointed messages for each mistake', () => {
    expect(problems(base({ often: true }))).toEqual([expect.stringMatching(/reports.often: unknown key \(allowed keys: channel, every, at, timezone\)/)]);
    expect(problems(base({ channel: '#security', every: '12h', at: 'mon 9am', timezone: 'Europe/Berlni' }))).toEqual([
      expect.stringMatching(/reports\.channel: must be a Slack channel id/),
      expect.stringMatching(/reports\.every: must be a whole number of days, such as 1d, 7d or 14d/),
      expect.stringMatching(/reports\.at: must be a time such as "mon 09:00"/),
      expect.stringMatching(/reports\.timezone: is not a time zone this runtime knows/),
    ]);
    expect(problems(base({ every: '3d', at: 'mon 09:00' }))).toEqual([expect.stringMatching(/reports\.at: names a weekday \(mon\), so every must be a whole number of weeks/)]);
    expect(problems(base({}, {}))).toEqual([expect.stringMatching(/reports\.channel: is needed when alerts\.securityChannel is not set/)]);
  });
});

function weeklyBerlinLike(timeZone: string) {
  return { ...weeklyBerlin, timeZone };
}
