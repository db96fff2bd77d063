/** The tests' fake Slack Web API (test/support/fake-slack-api.ts) in its own process, so answering the bot's calls
 * does not compete with the driver's load generator. Optionally adds a fixed latency to every answer, standing in
 * for the round trip to slack.com. */
import { FakeSlackApi, type RecordedCall } from '../../test/support/fake-slack-api';
import { childConfig, serve } from '../lib/child';
import { BOT_TOKEN } from '../lib/setup';

export interface FakeSlackConfig {
  latencyMs?: number;
}

export interface SummaryPost {
  at: number;
  channel: string;
  /** Request numbers (BG-<n>) the message summarizes: one, or several when summaries are batched. */
  numbers: number[];
}

const SLOWED_METHODS = [
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
  'conversations.open',
  'users.info',
  'usergroups.users.list',
  'views.open',
  'views.update',
  'response_url',
];

const { latencyMs = 0 } = childConfig<FakeSlackConfig>();
const slack = new FakeSlackApi({ expectedToken: BOT_TOKEN });
if (latencyMs > 0) {
  for (const method of SLOWED_METHODS) {
    slack.respondWith(method, async () => {
      await new Promise((resolve) => setTimeout(resolve, latencyMs));
      return undefined; // then the fake's normal answer
    });
  }
}

/** The channel's audit summary (not the copy in the request's thread), recognized by its text, as
 * src/slack/blocks/audit-summary.ts writes it; also matches a batched "Audit summaries …" message. */
function summaryPost(call: RecordedCall): SummaryPost | null {
  if (call.method !== 'chat.postMessage' || call.args.thread_ts) return null;
  const text = `${call.args.text ?? ''}\n${JSON.stringify(call.args.blocks ?? [])}`;
  if (!/audit summar/i.test(text)) return null;
  const numbers = [...new Set([...text.matchAll(/\bBG-(\d+)\b/g)].map((match) => Number(match[1])))];
  return { at: call.at, channel: String(call.args.channel), numbers };
}

// Calls are digested as they are asked for, so long runs do not rescan everything.
let digested = 0;
const summaries: SummaryPost[] = [];
/** Every chat.postMessage: when, and whether it was a channel summary, a thread reply or something else. */
const posts: Array<{ at: number; kind: 'summary' | 'thread' | 'other' }> = [];
const methodCounts = new Map<string, number>();
function digest(): void {
  for (; digested < slack.calls.length; digested++) {
    const call = slack.calls[digested];
    methodCounts.set(call.method, (methodCounts.get(call.method) ?? 0) + 1);
    const summary = summaryPost(call);
    if (summary) summaries.push(summary);
    if (call.method === 'chat.postMessage') posts.push({ at: call.at, kind: summary ? 'summary' : call.args.thread_ts ? 'thread' : 'other' });
  }
}

serve(
  {
    start: async () => {
      await slack.start();
      return slack.url;
    },
    setUserGroup: (groupId: string, members: string[]) => slack.setUserGroup(groupId, members),
    /** Forgets recorded calls (they hold every block sent, so long runs clear them between phases). */
    clear: () => {
      slack.clearCalls();
      digested = 0;
      summaries.length = 0;
      posts.length = 0;
      methodCounts.clear();
    },
    callCount: () => slack.calls.length,
    methodCounts: () => {
      digest();
      return Object.fromEntries(methodCounts);
    },
    summaryCount: () => {
      digest();
      return summaries.reduce((total, summary) => total + summary.numbers.length, 0);
    },
    summaries: () => {
      digest();
      return summaries;
    },
    posts: () => {
      digest();
      return posts;
    },
  },
  () => slack.stop(),
);
