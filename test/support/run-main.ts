import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout's JSON log lines. */
  lines: Array<Record<string, any>>;
}

/** Runs a Node script of the project (TypeScript through swc, or plain .mjs) as its own process with only `env`
 * (plus PATH), in a fresh directory holding `files`, and waits for it to exit (killed after `timeoutMs`). With
 * `stopWhen`, it is sent SIGTERM once its stdout so far satisfies it (e.g. a process that should keep running). */
export async function runToExit(
  script: string,
  {
    env,
    args = [],
    files = {},
    timeoutMs = 30_000,
    stopWhen,
  }: { env: Record<string, string | undefined>; args?: string[]; files?: Record<string, string>; timeoutMs?: number; stopWhen?: (stdout: string) => boolean },
): Promise<Finished> {
  const dir = mkdtempSync(path.join(tmpdir(), 'breakglass-run-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  const loader = script.endsWith('.ts') ? ['-r', path.join(ROOT, 'test/support/swc-register.cjs')] : [];
  const child = spawn(process.execPath, [...loader, path.join(ROOT, script), ...args], { cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let stopped = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stopWhen && !stopped && stopWhen(stdout)) {
      stopped = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  const lines = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>);
  return { code, stdout, stderr, lines };
}

/** A port nothing listens on (taken, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
