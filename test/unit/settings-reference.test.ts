import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema } from '../../src/config/env';

/** The settings table (docs/configuration.md), the .env.example and the code must name the same variables, with the same
 * defaults: a setting nobody can find is as good as missing, and a documented one the code ignores misleads. */

const ROOT = path.join(__dirname, '../..');
const REFERENCE = readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');

/** Variables src/ reads that are not settings: passed through to provider commands as they are. */
const NOT_SETTINGS = new Set(['PATH', 'HOME']);
/** `npm run sandbox`'s own settings (src/sandbox/), documented with it in docs/sandbox.md, not in the bot's table. */
const SANDBOX_DOC = readFileSync(path.join(ROOT, 'docs/sandbox.md'), 'utf8');
const isSandboxSetting = (name: string) => name.startsWith('SANDBOX_');

interface Row {
  name: string;
  required: string;
  defaultCell: string;
}

/** The rows of the table under "# Configuration" (before any other heading) whose first cell is a `VARIABLE`. */
function referenceRows(): Row[] {
  const section = REFERENCE.split(/^#{1,2} /m).find((part) => part.startsWith('Configuration\n'));
  if (!section) throw new Error('docs/configuration.md has no "# Configuration" section');
  return section
    .split('\n')
    .map((line) => /^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \| ([^|]*) \|/.exec(line))
    .filter((match) => match !== null)
    .map(([, name, required, defaultCell]) => ({ name, required: required.trim(), defaultCell: defaultCell.trim() }));
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** `process.env.X`, `env.X` (an injected environment, as the audit CLI takes) and `env['X']` anywhere in src/. */
function variablesReadInSource(): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) names.add(match[1] ?? match[2]);
  }
  return names;
}

const sorted = (names: Iterable<string>) => [...names].sort();

describe('the settings reference', () => {
  const rows = referenceRows();
  const documented = new Set(rows.map((row) => row.name));

  it('lists each variable once', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBe(documented.size);
  });

  it('lists every variable src/config/env.ts reads, and nothing else', () => {
    expect(sorted(documented)).toEqual(sorted(Object.keys(envSchema.shape)));
  });

  it('lists every variable read elsewhere in src/', () => {
    const undocumented = [...variablesReadInSource()].filter((name) => !NOT_SETTINGS.has(name) && !isSandboxSetting(name) && !documented.has(name));
    expect(undocumented).toEqual([]);
  });

  it("lists the sandbox's own settings in docs/sandbox.md", () => {
    const sandboxSettings = [...variablesReadInSource()].filter(isSandboxSetting);
    expect(sandboxSettings.length).toBeGreaterThan(0);
    expect(sandboxSettings.filter((name) => !SANDBOX_DOC.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it('gives the default the code applies', () => {
    const shape = envSchema.shape as Record<string, { safeParse(value: unknown): { success: boolean; data?: unknown } }>;
    for (const row of rows) {
      const fallback = shape[row.name].safeParse(undefined);
      const literal = /^`([^`]*)`$/.exec(row.defaultCell)?.[1];
      if (row.defaultCell === '—') {
        // No default: the schema requires it ("yes"), or unset means "not used" (checked later for some roles).
        const expected = row.required === 'yes' ? 'required' : undefined;
        expect({ name: row.name, data: fallback.success ? fallback.data : 'required' }).toEqual({ name: row.name, data: expected });
      } else if (literal !== undefined && !/^[A-Z][A-Z0-9_]+$/.test(literal)) {
        // The documented default, read the way the code reads the variable, gives what the code uses when unset.
        expect({ name: row.name, data: shape[row.name].safeParse(literal).data }).toEqual({ name: row.name, data: fallback.data });
        expect({ name: row.name, required: row.required }).toEqual({ name: row.name, required: 'no' });
      }
    }
  });

  it('matches .env.example, which "lists them all"', () => {
    const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const inExample = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    expect(sorted([...documented].filter((name) => !inExample.has(name)))).toEqual([]);
  });
});
