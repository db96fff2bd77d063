/** The benchmark's processes (bot, bare Bolt, plain BullMQ worker, fake Slack) each run in their own Node process, as
 * they would in production, and the driver talks to them over IPC with a tiny request/response protocol. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

type Handler = (...args: any[]) => unknown;

interface Call {
  id: number;
  method: string;
  args: unknown[];
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

const REGISTER = path.join(__dirname, '..', 'register.cjs');
const { precompile } = require(REGISTER) as { precompile: () => void };

export interface ChildOptions {
  /** Passed to the child as JSON in BENCH_CHILD_CONFIG. */
  config?: unknown;
  /** Extra Node flags, e.g. --cpu-prof or --expose-gc. */
  nodeFlags?: string[];
}

/** Node flags for the bot process (BENCH_BOT_NODE_FLAGS, space-separated; e.g. to try a V8 setting). */
function botFlags(): string[] {
  return (process.env.BENCH_BOT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

/** The driver's side: fork a script from bench/processes and call its handlers. */
export class Child {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (err: Error) => void; method: string }>();
  private exited = false;

  private constructor(
    readonly name: string,
    private readonly process: ChildProcess,
  ) {
    process.on('message', (message: Reply | { ready: true }) => {
      if ('ready' in message) return;
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiting.reject(new Error(`${name}.${waiting.method}: ${message.error}`));
      else waiting.resolve(message.result);
    });
    process.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiting of this.pending.values()) waiting.reject(new Error(`${name} exited (${code ?? signal}) during ${waiting.method}`));
      this.pending.clear();
    });
  }

  static start(script: string, options: ChildOptions = {}): Promise<Child> {
    // Transpile everything here, so the measured process runs cached JavaScript and never loads @swc/core.
    precompile();
    const file = path.join(__dirname, '..', 'processes', `${script}.ts`);
    const child = fork(file, [], {
      execArgv: ['-r', REGISTER, ...(script === 'bot' ? botFlags() : []), ...(options.nodeFlags ?? [])],
      env: { ...process.env, BENCH_CHILD_CONFIG: JSON.stringify(options.config ?? {}) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
      child.once('message', () => resolve(new Child(script, child)));
    });
  }

  get pid(): number {
    return this.process.pid!;
  }

  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.process.send({ id, method, args } satisfies Call);
    });
  }

  /** Calls the child's `shutdown` handler (which stops cleanly and exits), then waits for the exit. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    await this.call('shutdown').catch(() => {});
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The child's side: answer calls with `handlers`. A `shutdown` handler is added that runs `onShutdown` (for at
 * most 10 s: the bot's stop waits for queued Slack posts, which a paced burst can keep busy for minutes), then
 * exits, so --cpu-prof profiles get written. */
export function serve(handlers: Record<string, Handler>, onShutdown: () => Promise<void> = async () => {}): void {
  const all: Record<string, Handler> = {
    ...handlers,
    shutdown: async () => {
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
      await Promise.race([onShutdown().catch((err) => console.error('shutdown failed', err)), timeout]);
      setImmediate(() => process.exit(0));
    },
  };
  process.on('message', async ({ id, method, args }: Call) => {
    try {
      const handler = all[method];
      if (!handler) throw new Error(`no handler ${method}`);
      const result = await handler(...args);
      process.send!({ id, result } satisfies Reply);
    } catch (err) {
      process.send!({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply);
    }
  });
  // The driver going away (Ctrl-C) takes the children with it.
  process.on('disconnect', () => process.exit(1));
  process.send!({ ready: true });
}

export function childConfig<T>(): T {
  return JSON.parse(process.env.BENCH_CHILD_CONFIG ?? '{}') as T;
}
