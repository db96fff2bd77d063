import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { TEST_BOT_TOKEN, TEST_SIGNING_SECRET } from './bot-harness';
import { SlackRequestSender } from './slack-request-signer';

const ROOT = path.resolve(__dirname, '../..');

/** The bot as its own operating-system process (`src/main.ts`, configured through the environment like a real
 * deployment), so tests can SIGKILL it mid-work or run two at once. */
export class BotProcess {
  private child: ChildProcess | null = null;
  private output = '';
  port = 0;
  sender!: SlackRequestSender;

  constructor(
    private readonly options: {
      policyYaml: string;
      slackApiUrl: string;
      queueName: string;
      responseUrl: () => string;
      env?: Record<string, string>;
      /** Command-line arguments for main.ts, e.g. `--role=worker`. */
      args?: string[];
    },
  ) {}

  async start(): Promise<this> {
    const dir = mkdtempSync(path.join(tmpdir(), 'breakglass-bot-'));
    const policyPath = path.join(dir, 'breakglass.yaml');
    writeFileSync(policyPath, this.options.policyYaml);
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'test/support/swc-register.cjs'), path.join(ROOT, 'src/main.ts'), ...(this.options.args ?? [])], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: this.options.slackApiUrl,
        DATABASE_URL: process.env.TEST_DATABASE_URL,
        REDIS_URL: process.env.TEST_REDIS_URL,
        PORT: String(await freePort()),
        BREAKGLASS_POLICY: policyPath,
        BREAKGLASS_QUEUE: this.options.queueName,
        LOG_LEVEL: 'info',
        ...this.options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bot process did not start:\n${this.output}`)), 30_000);
      const onData = () => {
        const up = this.output
          .split('\n')
          .map(parseJson)
          .find((line) => line?.msg === 'breakglass is up');
        if (!up) return;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(up.port as number);
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bot process exited with ${code}:\n${this.output}`));
      });
    });
    this.sender = new SlackRequestSender({ baseUrl: `http://127.0.0.1:${this.port}`, signingSecret: TEST_SIGNING_SECRET, responseUrl: this.options.responseUrl });
    return this;
  }

  /** Everything the process logged, for assertions (e.g. that no secret was written). */
  get logs(): string {
    return this.output;
  }

  /** Kills the process without letting it clean up, as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** A normal shutdown. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = null;
  }
}

/** A port nobody listens on right now (PORT must be a real port for the bot). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function parseJson(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}
