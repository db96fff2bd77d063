/**
 * Experiment (not a change): the bot without App Home republishing after request changes, to see what that
 * background work costs the acks of a burst. Loaded into the bot process with BENCH_BOT_PATCH:
 *
 *   BENCH_BOT_PATCH=bench/experiments/no-home-refresh.ts npm run bench -- ack
 *
 * HomePublisher.requestChanged does nothing, so no Home is re-read or published when a request changes; everything
 * else (the follow-ups, their Slack posts and answers) runs as usual.
 */
import { HomePublisher } from '../../src/services/home-publisher';

HomePublisher.prototype.requestChanged = async (): Promise<void> => {};
