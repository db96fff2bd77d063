/**
 * Experiment (not a change): App Home republishing after request changes started a while later instead of at once,
 * to see whether moving that background work out of a burst's ack window is enough, or whether it must be cut.
 * Loaded into the bot process with BENCH_BOT_PATCH:
 *
 *   BENCH_HOME_DELAY_MS=1000 BENCH_BOT_PATCH=bench/experiments/deferred-home-refresh.ts npm run bench -- ack
 *
 * HomePublisher.requestChanged waits BENCH_HOME_DELAY_MS (default 1000) before doing what it does (nothing else
 * changes: each change still refreshes its audience's Homes, coalesced only while one is being drawn).
 */
import { HomePublisher } from '../../src/services/home-publisher';

const delayMs = Number(process.env.BENCH_HOME_DELAY_MS ?? 1000);
const requestChanged = HomePublisher.prototype.requestChanged;
HomePublisher.prototype.requestChanged = async function (this: HomePublisher, ...args: Parameters<HomePublisher['requestChanged']>) {
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  return requestChanged.apply(this, args);
};
