import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Every relative link in README.md, SECURITY.md and docs/*.md points at a file that exists and, when it names an
 * #anchor in a Markdown file, at a heading that file has. The README is the front door and the reference lives in
 * docs/: a link that moved with a section and was not updated is caught here. */

const ROOT = path.join(__dirname, '../..');

/** GitHub's heading ids: lower case, punctuation dropped (letters, digits, '-', '_' and spaces stay), spaces → '-'. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Lines outside fenced code blocks, with inline code spans blanked (a link in `code` is not a link). */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === null || fence === marker)) {
      fence = fence === null ? marker : null;
      continue;
    }
    if (fence === null) lines.push(line);
  }
  return lines;
}

/** The anchors a Markdown file offers: its headings' slugs (repeats get -1, -2, … as on GitHub) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = githubSlug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  }
  return anchors;
}

/** Relative link targets: inline links and images `[text](target)` and reference definitions `[id]: target`. */
function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]);
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(prose);
    if (definition) targets.push(definition[1]);
  }
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** What is wrong with each relative link of `file` (a path under `root`); empty when all resolve. */
function brokenLinks(root: string, file: string): string[] {
  const problems: string[] = [];
  const text = readFileSync(path.join(root, file), 'utf8');
  for (const target of relativeLinks(text)) {
    const hash = target.indexOf('#');
    const linkPath = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
    const resolved = linkPath === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), linkPath);
    if (!existsSync(resolved)) {
      problems.push(`${file}: ${target}: no such file ${path.relative(root, resolved)}`);
      continue;
    }
    if (anchor !== null && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
      problems.push(`${file}: ${target}: ${path.relative(root, resolved)} has no heading #${anchor}`);
    }
  }
  return problems;
}

function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name));
  return ['README.md', 'SECURITY.md', ...docs.sort()];
}

describe('links in the docs', () => {
  it('checks the README, SECURITY.md and the docs', () => {
    const files = markdownFiles();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'SECURITY.md', 'docs/configuration.md', 'docs/operations.md']));
    expect(files.flatMap((file) => relativeLinks(readFileSync(path.join(ROOT, file), 'utf8'))).length).toBeGreaterThan(100);
  });

  it.each(markdownFiles())('%s: every relative link points to an existing file and heading', (file) => {
    expect(brokenLinks(ROOT, file)).toEqual([]);
  });

  it('slugs headings the way GitHub does', () => {
    expect(githubSlug('What `verify` proves, and what it cannot')).toBe('what-verify-proves-and-what-it-cannot');
    expect(githubSlug('Emergency access (break glass)')).toBe('emergency-access-break-glass');
    expect(githubSlug('Follow-up gate (2026-11-21, branch `ack-gate`)')).toBe('follow-up-gate-2026-11-21-branch-ack-gate');
    expect(githubSlug('Revocation lag — 10,000 grants')).toBe('revocation-lag--10000-grants');
    expect(githubSlug('`snake_case` keys')).toBe('snake_case-keys');
  });

  it('reports a missing file, a missing heading and a repeated heading past its count', () => {
    const page = [
      '# Page',
      '## Setup',
      '## Setup',
      '[ok](#setup) [ok](#setup-1) [ok](other.md#far-away) [ok](https://example.com/x#y) `[code](nowhere.md)`',
      '[gone](nowhere.md) [bad anchor](#set-up) [too many](#setup-2) [bad far](other.md#near)',
      '```',
      '[in a fence](nowhere-either.md)',
      '```',
    ].join('\n');
    const files = { 'docs/page.md': page, 'docs/other.md': '# Far away\n' };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    expect(brokenLinks(dir, 'docs/page.md')).toEqual([
      'docs/page.md: nowhere.md: no such file docs/nowhere.md',
      'docs/page.md: #set-up: docs/page.md has no heading #set-up',
      'docs/page.md: #setup-2: docs/page.md has no heading #setup-2',
      'docs/page.md: other.md#near: docs/other.md has no heading #near',
    ]);
  });
});
