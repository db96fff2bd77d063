import { createPrisma, type Db } from '../../src/db/prisma';
import { TcpProxy } from '../support/tcp-proxy';
import { truncateAll } from '../support/databases';
import { waitFor } from '../support/wait';
import { capturingLogger, idsOfLane, pause, RunnerKit } from './effect-fixtures';

let db: Db;
let kit: RunnerKit;

beforeAll(() => {
  db = createPrisma(process.env.TEST_DATABASE_URL!);
});

beforeEach(async () => {
  await truncateAll();
  kit = new RunnerKit(db);
});

afterEach(async () => {
  await kit.stopAll();
});

afterAll(async () => {
  await db.$disconnect();
});

it('keeps running through a database outage and delivers what was written meanwhile', async () => {
  const { proxy, url } = await TcpProxy.for(process.env.TEST_DATABASE_URL!);
  const viaProxy = createPrisma(url);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const { logger, lines } = capturingLogger();
    await kit.start('p1', { post: kit.recording('p1') }, { db: viaProxy, logger });
    await kit.write([{ pool: 'slack', lane: 'before', kind: 'post' }]);
    await waitFor(() => kit.laneIds('before').length === 1, 'delivery before the outage');

    proxy.cut();
    await waitFor(() => lines.some((line) => line.msg === 'effect runner: claiming effects failed'), 'a failed claim logged');
    await kit.write([
      { pool: 'slack', lane: 'during', kind: 'post' },
      { pool: 'slack', lane: 'during', kind: 'post' },
    ]);
    await pause(300);
    expect(kit.laneIds('during')).toEqual([]);

    proxy.restore();
    await waitFor(() => kit.laneIds('during').length === 2, 'delivery after the outage', 20_000);
    expect(kit.laneIds('during')).toEqual(await idsOfLane(db, 'during'));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await kit.stopAll();
    await viaProxy.$disconnect();
    await proxy.stop();
  }
});
