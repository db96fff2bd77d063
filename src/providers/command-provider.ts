import { type ChildProcess, execFile, type ExecFileException } from 'node:child_process';
import { type AccessProvider, type CommandProviderConfig, type GrantResult, type GrantTarget, ProviderError } from './types';

export type CommandAction = 'grant' | 'revoke' | 'verify' | 'extend';

/** What `{name}` in an argv entry may stand for. */
export const COMMAND_PLACEHOLDERS = ['login', 'grant', 'role', 'resource', 'requestId', 'requestNumber', 'expiresAt', 'slackId'] as const;
type Placeholder = (typeof COMMAND_PLACEHOLDERS)[number];

const PLACEHOLDER_PATTERN = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** The `{names}` in an argv entry that are not placeholders (for checking the policy). */
export function unknownPlaceholders(argument: string): string[] {
  return [...argument.matchAll(PLACEHOLDER_PATTERN)].map((match) => match[1]).filter((name) => !isPlaceholder(name));
}

function isPlaceholder(name: string): name is Placeholder {
  return (COMMAND_PLACEHOLDERS as readonly string[]).includes(name);
}

/** Per stream; a command printing more is stopped, rather than filling our memory. */
const MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_EXCERPT_CHARS = 200;
const DEFAULT_KILL_GRACE_MS = 5_000;
/** How long to keep reading output after the command exited. A background process it started may hold the
 * output pipes open for much longer; the result must not wait for that. */
const OUTPUT_DRAIN_MS = 1_000;

export interface CommandProviderOptions extends Omit<CommandProviderConfig, 'type'> {
  /** How long a command may take to exit after SIGTERM (sent at the timeout) before it gets SIGKILL. */
  killGraceMs?: number;
}

interface Finished {
  exitCode: number;
  stderr: string;
}

/** Runs programs of the operator's choosing to grant, revoke, verify and extend access: execFile, never a shell,
 * so values substituted into arguments cannot add arguments or commands. */
export class CommandProvider implements AccessProvider {
  readonly type = 'command';
  readonly sharing = 'login';
  /** Requests whose last successful grant/revoke was a grant; only consulted when no verify command is
   * configured. Bounded by the grants currently in place, and empty after a restart. */
  private readonly grantedRequestIds = new Set<string>();
  /** Config env values, longest first (so a value containing another is masked whole). */
  private readonly secrets: string[];
  private readonly killGraceMs: number;

  constructor(private readonly options: CommandProviderOptions) {
    if (options.grant.length === 0 || options.revoke.length === 0) {
      throw new Error('command provider needs grant and revoke commands');
    }
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new Error('command provider needs a positive timeoutMs');
    }
    // A multi-line value (a key) may show up one line at a time.
    const values = Object.values(options.env).flatMap((value) => [value, ...value.split(/\r?\n/)]);
    this.secrets = [...new Set(values.filter((value) => value.length > 0))].sort((a, b) => b.length - a.length);
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  async grant(target: GrantTarget): Promise<GrantResult> {
    await this.runExpectingSuccess('grant', this.options.grant, target);
    this.grantedRequestIds.add(target.requestId);
    return {};
  }

  async revoke(target: GrantTarget): Promise<void> {
    await this.runExpectingSuccess('revoke', this.options.revoke, target);
    this.grantedRequestIds.delete(target.requestId);
  }

  /** With a verify command, its exit code is the answer. Without one, we assume the last successful grant or
   * revoke through this process still holds: a guess, not a read-back, and after a restart it says false. */
  async verify(target: GrantTarget): Promise<boolean> {
    if (this.options.verify === null) return this.grantedRequestIds.has(target.requestId);
    const { exitCode, stderr } = await this.run('verify', this.options.verify, target);
    if (exitCode === 0) return true;
    if (exitCode === 1) return false;
    throw this.failure('verify', `exited with code ${exitCode} (expected 0 = in place or 1 = not in place)`, stderr);
  }

  /** Without an extend command the target keeps no expiry of its own: access stays until our revoke. */
  async extend(target: GrantTarget): Promise<void> {
    if (this.options.extend === null) return;
    await this.runExpectingSuccess('extend', this.options.extend, target);
  }

  async close(): Promise<void> {
    // Nothing held: every action is its own process.
  }

  private async runExpectingSuccess(action: CommandAction, template: readonly string[], target: GrantTarget): Promise<void> {
    const { exitCode, stderr } = await this.run(action, template, target);
    if (exitCode !== 0) throw this.failure(action, `exited with code ${exitCode}`, stderr);
  }

  /** Resolves with the exit code of a command that ran to completion; throws when it could not start, timed out,
   * was killed or printed too much. */
  private run(action: CommandAction, template: readonly string[], target: GrantTarget): Promise<Finished> {
    const [executable, ...args] = template.map((argument) => substitutePlaceholders(argument, target));
    return new Promise((resolve, reject) => {
      let timedOut = false;
      let finished = false;
      const timers: NodeJS.Timeout[] = [];
      const onFinished = (error: ExecFileException | null, _stdout: string, stderr: string) => {
        finished = true;
        timers.forEach(clearTimeout);
        const outcome = this.outcome(action, executable, { error, stderr, timedOut });
        if (outcome instanceof ProviderError) reject(outcome);
        else resolve(outcome);
      };
      let child: ChildProcess;
      try {
        child = execFile(executable, args, { env: this.environment(action, target), encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES }, onFinished);
      } catch (error) {
        // Thrown before anything ran, e.g. for a value with a NUL character (which no argv or environment can hold).
        reject(this.startFailure(action, executable, (error as NodeJS.ErrnoException).code));
        return;
      }
      child.stdin?.end(); // a command waiting for input would otherwise wait until the timeout
      timers.push(
        setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
          timers.push(setTimeout(() => child.kill('SIGKILL'), this.killGraceMs));
        }, this.options.timeoutMs),
      );
      child.once('exit', () => {
        if (finished) return;
        timers.push(
          setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
          }, OUTPUT_DRAIN_MS),
        );
      });
    });
  }

  /** The exit code of a command that ran to completion, or why there is none. */
  private outcome(action: CommandAction, executable: string, run: { error: ExecFileException | null; stderr: string; timedOut: boolean }): Finished | ProviderError {
    const { error, stderr } = run;
    if (error === null) return { exitCode: 0, stderr };
    if (run.timedOut) {
      return this.failure(action, `timed out after ${formatMs(this.options.timeoutMs)} and was stopped`, stderr);
    }
    if (typeof error.code === 'number') return { exitCode: error.code, stderr };
    if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
      return this.failure(action, `printed more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MiB of output and was stopped`, '');
    }
    if (error.signal) return this.failure(action, `was killed by ${error.signal}`, stderr);
    return this.startFailure(action, executable, error.code);
  }

  /** Free text (reason, ticket) travels only here, never in argv. */
  private environment(action: CommandAction, target: GrantTarget): NodeJS.ProcessEnv {
    const expiresAt = target.expiresAt.toISOString();
    return {
      // The only variables taken from the bot's own environment, which also holds the Slack tokens and database
      // URLs. Unset ones are undefined here, which child_process leaves out.
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...this.options.env,
      BREAKGLASS_ACTION: action,
      BREAKGLASS_REQUEST_ID: target.requestId,
      BREAKGLASS_REQUEST_NUMBER: String(target.requestNumber),
      BREAKGLASS_LOGIN: target.login,
      BREAKGLASS_GRANT: target.grant,
      BREAKGLASS_ROLE: target.roleId,
      BREAKGLASS_RESOURCE: target.resourceId,
      BREAKGLASS_SLACK_ID: target.slackId,
      BREAKGLASS_EXPIRES_AT: expiresAt,
      BREAKGLASS_REASON: target.reason,
      BREAKGLASS_TICKET: target.ticket ?? '',
      // One key per logical change: retries repeat it, and each extension to a new expiry gets its own.
      BREAKGLASS_IDEMPOTENCY_KEY: action === 'extend' ? `${target.requestId}:extend:${expiresAt}` : `${target.requestId}:${action}`,
    };
  }

  private startFailure(action: CommandAction, executable: string, code: unknown): ProviderError {
    const program = JSON.stringify(this.scrub(executable));
    if (code === 'ENOENT') {
      return new ProviderError(`${action} command ${program} was not found (check the path, PATH and, for a script, its #! line)`);
    }
    if (code === 'EACCES') {
      return new ProviderError(`${action} command ${program} is not executable (permission denied)`);
    }
    if (code === 'ERR_INVALID_ARG_VALUE') {
      return new ProviderError(`${action} command ${program} could not be started: an argument or environment value contains a NUL character`);
    }
    const reason = typeof code === 'string' ? code : 'unknown error';
    return new ProviderError(`${action} command ${program} could not be started (${reason})`);
  }

  /** `<action> command <what happened>: <last line of stderr>`, without any config env value. */
  private failure(action: CommandAction, whatHappened: string, stderr: string): ProviderError {
    const said = this.excerpt(stderr);
    return new ProviderError(`${action} command ${whatHappened}${said.length > 0 ? `: ${said}` : ''}`);
  }

  /** The last non-empty line, on one line and short. Masked before it is cut, so no part of a secret is left. */
  private excerpt(stderr: string): string {
    const lines = this.scrub(stderr)
      .split(/\r?\n/)
      .map((line) => line.replace(/[\s\p{Cc}]+/gu, ' ').trim())
      .filter((line) => line.length > 0);
    const line = lines.at(-1) ?? '';
    return line.length > MAX_EXCERPT_CHARS ? `${line.slice(0, MAX_EXCERPT_CHARS)}…` : line;
  }

  private scrub(text: string): string {
    return this.secrets.reduce((scrubbed, secret) => scrubbed.split(secret).join('***'), text);
  }
}

/** Replaces each known `{name}` inside this one argument; the result stays one argument whatever the values hold. */
function substitutePlaceholders(argument: string, target: GrantTarget): string {
  const values: Record<Placeholder, string> = {
    login: target.login,
    grant: target.grant,
    role: target.roleId,
    resource: target.resourceId,
    requestId: target.requestId,
    requestNumber: String(target.requestNumber),
    expiresAt: target.expiresAt.toISOString(),
    slackId: target.slackId,
  };
  // Unknown names were refused when the policy was read; any left came from ${VAR} values and stay literal.
  return argument.replace(PLACEHOLDER_PATTERN, (whole, name: string) => (isPlaceholder(name) ? values[name] : whole));
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
