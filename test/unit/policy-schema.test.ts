import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Ajv from 'ajv';
import { parse, stringify } from 'yaml';
import { EXIT, runPolicyCheck } from '../../src/cli/policy-check';
import { PolicyError, parsePolicy } from '../../src/policy/load-policy';
import { policyJsonSchema } from '../../src/policy/policy-schema';

const ROOT = path.join(__dirname, '../..');
const SCHEMA_FILE = path.join(ROOT, 'docs/breakglass.schema.json');
const EXAMPLE = path.join(ROOT, 'breakglass.example.yaml');
const ENV = { PAYMENTS_DB_ADMIN_URL: 'postgresql://admin:s3cret-pw@db.internal:5432/payments', DEPLOY_HOOK_SECRET: 'hook-s3cret' };

describe('the JSON Schema of the policy file', () => {
  const schema = policyJsonSchema();
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

  it('is committed as generated from the zod schema (run `npm run policy:schema` after changing it)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(`${JSON.stringify(schema, null, 2)}\n`);
  });

  it('is named by the example policy for editors, with a path that exists', () => {
    const firstLine = readFileSync(EXAMPLE, 'utf8').split('\n')[0];
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(firstLine);
    expect(match).not.toBeNull();
    expect(path.resolve(path.dirname(EXAMPLE), match![1])).toBe(SCHEMA_FILE);
  });

  it('accepts the example policy, which the bot accepts', () => {
    const example = parse(readFileSync(EXAMPLE, 'utf8'));
    expect(parsePolicy(readFileSync(EXAMPLE, 'utf8'), 'example.yaml', ENV).resources).toHaveLength(3);
    const valid = validate(example);
    expect(validate.errors).toBeNull();
    expect(valid).toBe(true);
  });

  // What an editor underlines, the bot refuses too (the bot checks more: ${VAR} values, inheritance, repeats).
  it.each<[string, (policy: Record<string, any>) => void]>([
    ['a misspelt key', (policy) => (policy.resources[0].roles[0].maxDurration = '1h')],
    ['an unknown top-level key', (policy) => (policy.defualts = {})],
    ['a duration without a unit', (policy) => (policy.resources[0].roles[0].maxDuration = 30)],
    ['approvals of 0', (policy) => (policy.resources[0].roles[0].approvals = 0)],
    ['a channel name among principals', (policy) => (policy.resources[0].approvers = ['#sre'])],
    ['"*" as an admin', (policy) => (policy.admins = ['*'])],
    ['an unknown provider type', (policy) => (policy.resources[0].provider = { type: 'mysql', url: 'x' })],
    ['a postgres key on a webhook', (policy) => (policy.resources[1].provider.mode = 'membership')],
    ['a command without revoke', (policy) => delete policy.resources[2].provider.revoke],
    ['no resources', (policy) => (policy.resources = [])],
    ['a role without an id', (policy) => delete policy.resources[0].roles[0].id],
    ['an identity keyed by name', (policy) => (policy.identities = { alice: 'alice' })],
  ])('rejects %s, as the bot does', (_, change) => {
    const policy = parse(readFileSync(EXAMPLE, 'utf8'));
    change(policy);
    expect(validate(policy)).toBe(false);
    expect(() => parsePolicy(stringify(policy), 'example.yaml', ENV)).toThrow(PolicyError);
  });
});

describe('checks that need the whole file', () => {
  const problems = (policy: Record<string, any>) => {
    try {
      parsePolicy(stringify(policy), 'p.yaml', {});
    } catch (error) {
      return (error as PolicyError).problems;
    }
    return [];
  };
  const policy = () => ({
    resources: [{ id: 'db', provider: { type: 'postgres', url: 'postgresql://admin@db/x' }, roles: [{ id: 'r', maxDuration: '2x' }] }],
  });

  it('report once what is written is right: a role without approvers after its bad duration is fixed', () => {
    const broken = policy();
    expect(problems(broken)).toEqual(['p.yaml: resources[0].roles[0].maxDuration: "2x" is not a duration (use 45s, 30m, 2h or 1d, at most 365d)']);
    broken.resources[0].roles[0].maxDuration = '2h';
    expect(problems(broken)).toEqual(['p.yaml: resources[0].roles[0].approvers: missing; set approvers on the role, its resource, or in defaults']);
  });
});

/** Collects what a stream is given. */
class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function check(args: string[], env: NodeJS.ProcessEnv = ENV) {
  const stdout = new Collector();
  const stderr = new Collector();
  const code = runPolicyCheck(args, { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('npm run policy:check', () => {
  it('exits 0 with a one-line summary that repeats no value from the policy', () => {
    const result = check([EXAMPLE]);
    expect(result).toEqual({ code: EXIT.ok, stdout: `${EXAMPLE}: OK: 3 resources (1 postgres, 1 webhook, 1 command), 5 roles, 1 admin\n`, stderr: '' });
  });

  it('exits 1 with the pointed messages, one per line, and no secret', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'bg-policy-check-'));
    const file = path.join(directory, 'breakglass.yaml');
    const policy = parse(readFileSync(EXAMPLE, 'utf8'));
    policy.resources[0].roles[0].maxDurration = '1h';
    policy.resources[1].provider.url = '${DEPLOY_HOOK_SECRET}';
    writeFileSync(file, stringify(policy));
    const result = check([file]);
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `Invalid breakglass policy ${file} (2 problems):`,
      `${file}: resources[0].roles[0].maxDurration: unknown key (did you mean "maxDuration"?)`,
      `${file}: resources[1].provider.url: is not a valid http:// or https:// URL`,
    ]);
    expect(result.stderr).not.toContain(ENV.DEPLOY_HOOK_SECRET);
  });

  it('reads BREAKGLASS_POLICY when no file is given, and says so when the file is missing', () => {
    expect(check([], { ...ENV, BREAKGLASS_POLICY: EXAMPLE }).code).toBe(EXIT.ok);
    const missing = check(['/nonexistent/breakglass.yaml']);
    expect(missing).toEqual({ code: EXIT.invalid, stdout: '', stderr: expect.stringContaining('cannot read the policy file (ENOENT)') });
  });

  it('exits 2 on a usage error', () => {
    expect(check(['a.yaml', 'b.yaml'])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining('Usage:') });
    expect(check(['--strict'])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining("Unknown option '--strict'") });
  });

  it('prints the JSON Schema with --schema', () => {
    expect(JSON.parse(check(['--schema']).stdout)).toEqual(policyJsonSchema());
  });

  it('runs as a program with its exit code', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['-r', path.join(ROOT, 'test/support/swc-register.cjs'), path.join(ROOT, 'src/cli/policy-check.ts'), EXAMPLE], {
        cwd: mkdtempSync(path.join(tmpdir(), 'bg-policy-check-')),
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      });
    expect(run(ENV)).toMatchObject({ status: 0, stdout: expect.stringContaining(': OK: 3 resources') });
    const invalid = run({});
    expect(invalid).toMatchObject({ status: 1, stdout: '' });
    expect(invalid.stderr).toContain('environment variable PAYMENTS_DB_ADMIN_URL is not set');
  });
});
