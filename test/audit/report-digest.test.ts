import pino from 'pino';
import { createPrisma, type Db } from '../../src/db/prisma';
import { commitDueDigest, DIGEST_EFFECT, DigestSchedule } from '../../src/reports/report-digest';
import type { ReportSettings } from '../../src/policy/types';
import { truncateAll } from '../support/databases';
import { waitFor } from '../support/wait';

/** The digest's bookkeeping on the real database, as the bot's role: one ReportRun and one Slack effect per period,
 * whoever commits it and however often. */
const settings: ReportSettings = {
  channel: 'C0SECURITY',
  every: '7d',
  at: 'mon 09:00',
  timezone: 'UTC',
  schedule: { everyDays: 7, weekday: 1, hour: 9, minute: 0, timeZone: 'UTC' },
};
let db: Db;

beforeAll(() => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
});

beforeEach(() => truncateAll());

afterAll(() => db.$disconnect());

const digestEffects = () => db.effect.findMany({ where: { kind: DIGEST_EFFECT }, orderBy: { id: 'asc' } });

test('ten processes looking at the same moment commit one digest with one effect', async () => {
  const now = new Date('2026-11-09T09:00:30Z');
  const results = await Promise.all(Array.from({ length: 10 }, () => commitDueDigest(db, settings, now)));
  expect(results.filter(Boolean)).toHaveLength(1);
  const [effect] = await digestEffects();
  expect(effect).toMatchObject({ pool: 'slack', lane: 'report:C0SECURITY' });
  expect(effect.payload).toMatchObject({ channel: 'C0SECURITY', since: '2026-11-02T09:00:00.000Z', until: '2026-11-09T09:00:00.000Z' });
  expect(await digestEffects()).toHaveLength(1);
  // Later in the same period: nothing more.
  expect(await commitDueDigest(db, settings, new Date('2026-11-15T23:59:00Z'))).toBeNull();
  expect(await db.reportRun.count()).toBe(1);
});

test('after downtime: one digest from the previous one to the latest due time; a clock moved back commits nothing', async () => {
  await commitDueDigest(db, settings, new Date('2026-11-09T09:00:00Z'));
  const caughtUp = await commitDueDigest(db, settings, new Date('2026-12-02T12:00:00Z'));
  expect(caughtUp).toMatchObject({ since: '2026-11-09T09:00:00.000Z', until: '2026-11-30T09:00:00.000Z' });
  expect(await commitDueDigest(db, settings, new Date('2026-11-20T12:00:00Z'))).toBeNull();
  expect((await digestEffects()).map((effect) => (effect.payload as { until: string }).until)).toEqual(['2026-11-09T09:00:00.000Z', '2026-11-30T09:00:00.000Z']);
});

test('the schedule looks at start and on its timer, and wakes the Slack runner only when it committed one', async () => {
  let now = new Date('2026-11-09T09:00:00Z');
  let wakes = 0;
  const schedule = new DigestSchedule({ db, settings, logger: pino({ level: 'silent' }), committed: () => wakes++, now: () => now, checkEveryMs: 20 });
  await schedule.start();
  expect(wakes).toBe(1);
  now = new Date('2026-11-16T09:00:00Z');
  await waitFor(() => wakes >= 2, 'the next period committed on the timer');
  await schedule.stop();
  expect(wakes).toBe(2);
  expect(await db.reportRun.count()).toBe(2);
});
