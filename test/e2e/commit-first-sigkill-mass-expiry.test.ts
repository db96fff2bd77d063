import { GRANTS, MassExpiryWorld, TAKEOVER_TIMEOUT_MS } from './commit-first-mass-expiry';

/** Issue 10: a bot process killed with SIGKILL during a mass expiry, its audit summaries still waiting for a
 * rate-limited Slack, loses none of them: the next process posts every one (duplicates allowed). They are rows in the
 * outbox, not the dead process's memory (before the outbox, the channel pacer held them and they died with it). */
const world = new MassExpiryWorld();

beforeAll(() => world.setUp(), 60_000);
afterAll(() => world.tearDown(), 30_000);

describe('SIGKILL during a mass expiry', () => {
  it('leaves no request without its audit summary once another process runs', async () => {
    await world.makeGrants();
    world.holdBackPosts();
    await world.makeAllDue();

    const first = await world.startProcess();
    await world.waitAllExpired();
    // The notices are queued, not delivered: the bot has tried Slack and been told to wait.
    await world.waitForRefusedPost();
    expect(world.summarized().length).toBeLessThan(GRANTS);

    await first.kill();
    world.slackRecovers();
    await world.startProcess();
    await world.waitEverySummary(TAKEOVER_TIMEOUT_MS);
  }, 120_000);
});
