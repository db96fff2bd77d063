import { randomUUID } from 'node:crypto';
import { createPrisma, type AccessRequest, type Db } from '../../src/db/prisma';
import { claimLanes } from '../../src/effects/effect-sql';
import type { NewEffect } from '../../src/effects/outbox';
import { BURST_WINDOW_MS, burstUnderway } from '../../src/requests/expiry-sweeper';
import { truncateAll } from '../support/databases';
import { waitFor } from '../support/wait';
import { pause, RunnerKit } from './effect-fixtures';

/** Slack work gives way to a burst of expiries that any process is revoking: the Slack pools' claims take nothing
 * while a grant that fell due moments ago is still active (src/deliveries.ts), at the cost of no statement. */
let db: Db;
let kit: RunnerKit;

beforeAll(() => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
});
beforeEach(async () => {
  await truncateAll();
  kit = new RunnerKit(db);
});
afterEach(() => kit.stopAll());
afterAll(() => db.$disconnect());

function seedGrant(expiresAt: Date, status: AccessRequest['status'] = 'ACTIVE'): Promise<AccessRequest> {
  const tag = randomUUID().slice(0, 6).toUpperCase();
  return db.accessRequest.create({
    data: {
      status,
      requesterId: `U0HOLD${tag}`,
      requesterLogin: `hold_${tag.toLowerCase()}`,
      resourceId: 'hold-db',
      roleId: 'read',
      grantName: 'hold_read',
      durationSeconds: 60,
      reason: 'testing the hold',
      channelId: 'C0HOLD',
      requiredApprovals: 1,
      expiresAt,
    },
  });
}

const post = (lane: string): NewEffect => ({ pool: 'slack', lane, kind: 'post', payload: {} });
const claim = (extra: Partial<Parameters<typeof claimLanes>[1]> = {}) =>
  claimLanes(db, { pool: 'slack', processId: 'hold-test', livenessMs: 10_000, limit: 10, batchSizes: new Map(), holdWhile: burstUnderway, ...extra });
const end = (request: AccessRequest) => db.accessRequest.update({ where: { id: request.id }, data: { status: 'EXPIRED', endedAt: new Date() } });

describe('claims held while a burst is being revoked (burstUnderway)', () => {
  it('takes nothing while a grant that just fell due is still active, and everything once it has ended', async () => {
    await kit.write([post('channel:C1'), post('channel:C2')]);
    const due = await seedGrant(new Date(Date.now() - 500));
    expect(await claim()).toEqual([]);
    await end(due);
    expect((await claim()).map((lane) => lane[0].lane).sort()).toEqual(['channel:C1', 'channel:C2']);
  });

  it('counts an approved grant whose grant has not run yet', async () => {
    await kit.write([post('channel:C1')]);
    await seedGrant(new Date(Date.now() - 500), 'APPROVED');
    expect(await claim()).toEqual([]);
  });

  it('does not hold for grants not yet due, overdue beyond the window, or failing (REVOKING)', async () => {
    await kit.write([post('channel:C1')]);
    await seedGrant(new Date(Date.now() + 60_000));
    await seedGrant(new Date(Date.now() - BURST_WINDOW_MS - 2_000)); // a fault the reconciler takes, not a burst
    await seedGrant(new Date(Date.now() - 500), 'REVOKING');
    expect(await claim()).toHaveLength(1);
  });

  it('still settles what a lane delivered, and holds back its next effect', async () => {
    await kit.write([post('thread:T1'), post('thread:T1')]);
    const [[head]] = await claim();
    await seedGrant(new Date(Date.now() - 500));
    expect(await claim({ lane: 'thread:T1', settle: { ids: [head.id], gaveUp: false, lastError: null } })).toEqual([]);
    const rows = await db.effect.findMany({ where: { lane: 'thread:T1' }, orderBy: { id: 'asc' } });
    expect(rows.map((row) => row.deliveredAt !== null)).toEqual([true, false]);
    expect(rows[1].leasedBy).toBeNull();
  });

  it('a runner given the condition delivers only after the burst, at its next poll', async () => {
    const due = await seedGrant(new Date(Date.now() - 500));
    await kit.write([post('channel:C1')]);
    await kit.start('hold-runner', { post: kit.recording('hold-runner') }, { holdWhile: burstUnderway, pollMs: 100 });
    await pause(500); // five polls
    expect(kit.deliveries).toEqual([]);
    await end(due);
    await waitFor(() => kit.deliveries.length === 1, 'the delivery after the burst');
  });
});
