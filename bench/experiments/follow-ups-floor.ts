/**
 * Experiment (not a change): the bot's ack latency without the work its listeners do after the ack, i.e. the floor
 * that no follow-up gate setting can go below. Loaded into the bot process with BENCH_BOT_PATCH:
 *
 *   BENCH_BOT_PATCH=bench/experiments/follow-ups-floor.ts npm run bench -- ack
 *
 * Every FollowUpGate.run resolves at once without running its work, so a click is verified, parsed, routed and acked
 * as usual and then nothing happens (no request is written, no Slack call made). Only the ack numbers mean anything.
 */
import { FollowUpGate } from '../../src/slack/follow-up-gate';

FollowUpGate.prototype.run = async <T>(): Promise<T> => undefined as T;
