import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadPolicy, PolicyError } from '../policy/load-policy';
import { policyJsonSchema } from '../policy/policy-schema';
import type { Policy } from '../policy/types';

/** Exit codes, documented in the usage text and docs/policy.md. */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;

const USAGE = `Usage:
  npm run policy:check -- [<file>]
      Checks a policy file as the bot does at start-up, with the same messages, and prints a short summary.
      <file> defaults to BREAKGLASS_POLICY, else ./breakglass.yaml. \${VAR} references are read from the
      environment (and .env): in CI, give them values of the right form (a postgresql:// URL, a secret).
      Exit 0 when the policy is valid, 1 when it is not (one problem per line on stderr), 2 on a usage error.
  npm run policy:check -- --schema [--output <file>]
      Prints the JSON Schema of the policy file (docs/breakglass.schema.json is this output).`;

interface Io {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** Runs one check and returns its exit code; never calls process.exit (tests call it too). */
export function runPolicyCheck(argv: string[], io: Io): number {
  const say = (stream: Writable, text: string) => stream.write(`${text}\n`);
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    say(io.stderr, `policy:check: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    say(io.stdout, USAGE);
    return EXIT.ok;
  }
  if (values.schema) {
    const schema = `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
    if (values.output) fs.writeFileSync(values.output, schema);
    else io.stdout.write(schema);
    return EXIT.ok;
  }
  if (positionals.length > 1 || values.output) {
    say(io.stderr, `policy:check: give one policy file (or --schema with --output)\n\n${USAGE}`);
    return EXIT.usage;
  }
  const file = positionals[0] ?? (io.env.BREAKGLASS_POLICY || './breakglass.yaml');
  try {
    say(io.stdout, summary(file, loadPolicy(file, io.env)));
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    say(io.stderr, error.message);
    return EXIT.invalid;
  }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      schema: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One line: what the policy holds, never a value from it (URLs and secrets stay out of CI logs). */
function summary(file: string, policy: Policy): string {
  const roles = policy.resources.reduce((total, resource) => total + resource.roles.length, 0);
  const providers = new Map<string, number>();
  for (const resource of policy.resources) providers.set(resource.provider.type, (providers.get(resource.provider.type) ?? 0) + 1);
  const byType = [...providers].map(([type, n]) => `${n} ${type}`).join(', ');
  return `${file}: OK: ${count(policy.resources.length, 'resource')} (${byType}), ${count(roles, 'role')}, ${count(policy.admins.length, 'admin')}`;
}

if (require.main === module) {
  if (fs.existsSync('.env')) process.loadEnvFile('.env');
  process.exitCode = runPolicyCheck(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
