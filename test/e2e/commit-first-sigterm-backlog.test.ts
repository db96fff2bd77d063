import { GRANTS, MassExpiryWorld, TAKEOVER_TIMEOUT_MS } from './commit-first-mass-expiry';

/** Issue 10: a bot process stopped normally (SIGTERM, as in a deploy) while a backlog of audit summaries waits for
 * a rate-limited Slack loses none of them: the next process posts every one (duplicates allowed). The stop hands
 * what is left back to the outbox (before the outbox, it waited a few seconds for the in-memory pacer and dropped
 * the rest). */
const world = new MassExpiryWorld();

beforeAll(() => world.setUp(), 60_000);
afterAll(() => world.tearDown(), 30_000);

describe('SIGTERM during a backlog of audit summaries', () => {
  it('leaves no request without its audit summary once the next process runs', async () => {
    await world.makeGrants();
    world.holdBackPosts();
    await world.makeAllDue();

    const first = await world.startProcess();
    await world.waitAllExpired();
    await world.waitForRefusedPost();
    expect(world.summarized().length).toBeLessThan(GRANTS);

    // Slack is still rate limiting while the process shuts down; it recovers only once the process is gone.
    await first.stop();
    world.slackRecovers();
    await world.startProcess();
    await world.waitEverySummary(TAKEOVER_TIMEOUT_MS);
  }, 120_000);
});
