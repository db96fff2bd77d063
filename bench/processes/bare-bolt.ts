/** The baseline for ack latency: the same Bolt version and receiver (ExpressReceiver on /slack/events), the same
 * signing secret and Web API URL, and listeners that only ack. */
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import type { Server } from 'node:http';
import { childConfig, serve } from '../lib/child';

export interface BareBoltConfig {
  slackApiUrl: string;
  signingSecret: string;
  botToken: string;
}

const config = childConfig<BareBoltConfig>();
const receiver = new ExpressReceiver({ signingSecret: config.signingSecret, logLevel: LogLevel.ERROR });
const app = new App({
  token: config.botToken,
  receiver,
  deferInitialization: true,
  clientOptions: { slackApiUrl: config.slackApiUrl },
  logLevel: LogLevel.ERROR,
});
app.command(/.*/, async ({ ack }) => {
  await ack();
});
app.action(/.*/, async ({ ack }) => {
  await ack();
});

serve(
  {
    start: async () => {
      await app.init();
      const server = (await app.start(0)) as Server;
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    },
  },
  async () => {
    await app.stop();
  },
);
