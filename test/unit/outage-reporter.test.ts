import { OUTAGE_REMINDER_MS, OutageReporter } from '../../src/app/outage-reporter';
import { createLogger } from '../../src/logger';
import { boltLogger } from '../../src/slack/bolt-logger';
import { closedPort } from '../support/run-main';
import { waitFor } from '../support/wait';

function capture() {
  const raw: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void raw.push(line) });
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, any>);
  return { logger, lines, at: (level: number) => lines().filter((line) => line.level === level) };
}

const explanation = { tried: 'connecting to Redis at 127.0.0.1:6390 (REDIS_URL)', why: 'connection refused', next: 'start Redis' };

describe('OutageReporter', () => {
  it('one warning with what to check, then quiet while it lasts, a reminder every 15 minutes, one line when back', async () => {
    const { logger, at } = capture();
    let now = 1_000_000;
    const reporter = new OutageReporter(logger, 'Redis', { now: () => now });
    let explained = 0;
    const explain = () => {
      explained++;
      return explanation;
    };
    for (let attempt = 0; attempt < 50; attempt++) {
      reporter.failed(explain, 'connect ECONNREFUSED');
      now += 2_000;
    }
    await waitFor(() => at(40).length === 1, 'the warning');
    expect(at(40)[0]).toMatchObject({
      ...explanation,
      msg: expect.stringMatching(/^connecting to Redis at 127.0.0.1:6390 \(REDIS_URL\) failed: connection refused. Next: start Redis. Retrying quietly/),
    });
    expect(explained).toBe(1);
    expect(at(20)).toHaveLength(49);

    now += OUTAGE_REMINDER_MS;
    reporter.failed(explain);
    await waitFor(() => at(40).length === 2, 'the reminder');
    expect(explained).toBe(2);

    reporter.recovered();
    reporter.recovered();
    expect(at(30)).toEqual([expect.objectContaining({ msg: 'Redis reachable again' })]);
    expect(reporter.isDown).toBe(false);
    // A new outage is news again at once.
    reporter.failed(explain);
    await waitFor(() => at(40).length === 3, 'the warning of the next outage');
  });
});

describe('boltLogger with a reachability reporter', () => {
  it('turns the Web API client\'s "http request failed fetch failed" per attempt into one warning naming the URL and the cause', async () => {
    const { logger, at } = capture();
    const slackApiUrl = `http://127.0.0.1:${await closedPort()}/api/`;
    const bolt = boltLogger(logger, { reporter: new OutageReporter(logger, 'Slack'), slackApiUrl });
    for (let attempt = 0; attempt < 10; attempt++) bolt.warn('http request failed', 'fetch failed');
    await waitFor(() => at(40).length === 1, 'the warning');
    const [warning] = at(40);
    expect(warning.msg).toContain(`calling Slack at ${slackApiUrl} (SLACK_API_URL) failed: cannot reach Slack: fetch failed (ECONNREFUSED)`);
    expect(warning.next).toContain('check that this machine resolves 127.0.0.1');
    expect(at(40).filter((line) => /http request failed/.test(line.msg))).toEqual([]);
    bolt.debug('http response received');
    expect(at(30)).toEqual([expect.objectContaining({ msg: 'Slack reachable again' })]);
  });
});
