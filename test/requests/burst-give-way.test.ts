import { randomUUID } from 'node:crypto';
import { createPrisma, type AccessRequest, type Db } from '../../src/db/prisma';
import { createLogger } from '../../src/logger';
import { ProviderRegistry } from '../../src/providers/provider-registry';
import { BURST_WINDOW_MS, ExpirySweeper } from '../../src/requests/expiry-sweeper';
import { RequestStore } from '../../src/requests/request-store';
import type { Policy } from '../../src/policy/types';

/** Slack work gives way to a burst that another process is revoking: whenDueEnded watches the database, not this
 * process's sweeps (a --role=web process never sweeps). */
let db: Db;
let sweeper: ExpirySweeper;
const resourceId = `giveway-${randomUUID().slice(0, 8)}`;

beforeAll(() => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
  const logger = createLogger('silent');
  const store = new RequestStore({ db, logger, wake: () => undefined });
  sweeper = new ExpirySweeper({
    db,
    store,
    providers: new ProviderRegistry({ resources: [] } as unknown as Policy),
    logger,
    providerConcurrency: 1,
    recordFailure: async () => 'unused',
  });
});
beforeAll(async () => {
  // Grants other test files left active and just due (this database is shared) age out of the window first.
  await sweeper.whenDueEnded(BURST_WINDOW_MS + 500);
});
afterAll(() => db.$disconnect());
afterEach(() => db.accessRequest.updateMany({ where: { resourceId, status: { in: ['ACTIVE', 'APPROVED'] } }, data: { status: 'EXPIRED', endedAt: new Date() } }));

function seedActive(expiresAt: Date, status: AccessRequest['status'] = 'ACTIVE'): Promise<AccessRequest> {
  const tag = randomUUID().slice(0, 6).toUpperCase();
  return db.accessRequest.create({
    data: {
      status,
      requesterId: `U0GIVE${tag}`,
      requesterLogin: `give_${tag.toLowerCase()}`,
      resourceId,
      roleId: 'read',
      grantName: 'give_read',
      durationSeconds: 60,
      reason: 'testing the give-way',
      channelId: `C0GIVE${tag}`,
      requiredApprovals: 1,
      expiresAt,
    },
  });
}

/** Whether the promise settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, ms));
  return settled;
}

describe('ExpirySweeper.whenDueEnded', () => {
  it('resolves at once when nothing fell due moments ago', async () => {
    await seedActive(new Date(Date.now() + 60_000)); // not due yet
    await expect(settlesWithin(sweeper.whenDueEnded(5_000), 300)).resolves.toBe(true);
  });

  it('waits while a grant that just fell due is still active, and resolves once it has ended', async () => {
    const due = await seedActive(new Date(Date.now() - 500));
    const waiting = sweeper.whenDueEnded(BURST_WINDOW_MS);
    expect(await settlesWithin(waiting, 400)).toBe(false);
    await db.accessRequest.update({ where: { id: due.id }, data: { status: 'EXPIRED', endedAt: new Date() } });
    await expect(settlesWithin(waiting, 600)).resolves.toBe(true);
  });

  it('counts an approved grant not yet active as part of the burst', async () => {
    await seedActive(new Date(Date.now() - 500), 'APPROVED');
    expect(await settlesWithin(sweeper.whenDueEnded(BURST_WINDOW_MS), 400)).toBe(false);
  });

  it('does not wait for a grant overdue longer than the burst window (a fault the reconciler takes, not a burst)', async () => {
    await seedActive(new Date(Date.now() - BURST_WINDOW_MS - 2_000));
    await expect(settlesWithin(sweeper.whenDueEnded(5_000), 300)).resolves.toBe(true);
  });

  it('waits no longer than it was given', async () => {
    await seedActive(new Date(Date.now() - 200));
    await expect(settlesWithin(sweeper.whenDueEnded(300), 1_000)).resolves.toBe(true);
  });

  it('does not wait for REVOKING requests (failed revocations are retried by their jobs)', async () => {
    await seedActive(new Date(Date.now() - 500), 'REVOKING');
    await expect(settlesWithin(sweeper.whenDueEnded(5_000), 300)).resolves.toBe(true);
  });
});
