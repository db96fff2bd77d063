import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { issueLines } from './policy-issues';
import { policySchema } from './policy-schema';
import { resolvePolicy } from './resolve-policy';
import { withEnvironment } from './schema-primitives';
import type { Policy } from './types';

// The policy file: read (YAML), checked against policySchema (policy-schema.ts; docs/breakglass.schema.json is
// generated from it), then resolved into the Policy the bot uses (resolve-policy.ts). New sections plug in through
// sections.ts (docs/policy-schema.md).

/** The policy file cannot be used. The message names the file, the path inside it and what is wrong, one problem
 * per line, so an operator can fix everything in one pass. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';

  constructor(
    readonly sourcePath: string,
    /** One line per problem, each starting with the file name. */
    readonly problems: readonly string[],
  ) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super([`Invalid breakglass policy ${sourcePath} (${count}):`, ...problems].join('\n'));
  }
}

export function loadPolicy(filePath: string, env: NodeJS.ProcessEnv = process.env): Policy {
  let yamlText: string;
  try {
    yamlText = readFileSync(filePath, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new PolicyError(filePath, [`${filePath}: cannot read the policy file (${reason})`]);
  }
  return parsePolicy(yamlText, filePath, env);
}

export function parsePolicy(yamlText: string, sourcePath: string, env: NodeJS.ProcessEnv = process.env): Policy {
  const document = parseDocument(yamlText, { uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new PolicyError(
      sourcePath,
      document.errors.map((error) => `${sourcePath}:${describeYamlError(error)}`),
    );
  }
  let root: unknown;
  try {
    root = document.toJS();
  } catch (error) {
    // e.g. too many aliases (a "billion laughs" file).
    throw new PolicyError(sourcePath, [`${sourcePath}: ${(error as Error).message}`]);
  }
  const fail = (problems: readonly string[]) =>
    new PolicyError(
      sourcePath,
      problems.map((problem) => `${sourcePath}: ${problem}`),
    );
  if (root === null || root === undefined) throw fail(['the file is empty; it needs at least a "resources" list']);
  // First what is written (types, keys, values), then what needs the whole file (inheritance, unique ids).
  const written = withEnvironment(env, () => policySchema.safeParse(root));
  if (!written.success) throw fail(issueLines(written.error.issues));
  const problems: string[] = [];
  const policy = resolvePolicy(written.data, sourcePath, problems, env);
  if (!policy) throw fail(problems);
  return policy;
}

function describeYamlError(error: { message: string; linePos?: readonly { line: number; col: number }[] }): string {
  // The library appends " at line L, column C:" and a code snippet; we put the position first, compiler-style.
  const firstLine = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  const position = error.linePos?.[0];
  return position ? `${position.line}:${position.col}: YAML syntax error: ${firstLine}` : ` YAML syntax error: ${firstLine}`;
}
