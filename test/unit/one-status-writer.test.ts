import fs from 'node:fs';
import path from 'node:path';

/** "One module writes request status": a guard that fails when code elsewhere in src/ starts writing
 * AccessRequest.status, through Prisma or raw SQL. Creating a request (PENDING by default) is not a status change. */
const SRC = path.resolve(__dirname, '../../src');
const STORE = path.join(SRC, 'requests/request-store.ts');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

/** The argument text of each `accessRequest.update…(` call, up to its matching parenthesis. */
function updateCalls(text: string): string[] {
  const calls: string[] = [];
  for (const match of text.matchAll(/accessRequest\.update(?:Many|ManyAndReturn)?\(/g)) {
    let depth = 1;
    let end = match.index! + match[0].length;
    while (depth > 0 && end < text.length) {
      if (text[end] === '(') depth++;
      if (text[end] === ')') depth--;
      end++;
    }
    calls.push(text.slice(match.index!, end));
  }
  return calls;
}

function writesStatus(text: string): string[] {
  const prisma = updateCalls(text).filter((call) => /data:\s*\{[^}]*\bstatus\b/.test(call.replace(/where:\s*\{[^}]*\}/g, '')));
  const raw = [...text.matchAll(/UPDATE\s+"AccessRequest"[\s\S]{0,300}?\bSET\b[\s\S]{0,300}?\bstatus\s*=/g)].map((match) => match[0]);
  return [...prisma, ...raw];
}

describe('request status has one writer', () => {
  it('is written only in src/requests/request-store.ts', () => {
    const offenders = sourceFiles(SRC)
      .filter((file) => file !== STORE)
      .flatMap((file) => writesStatus(fs.readFileSync(file, 'utf8')).map((write) => `${path.relative(SRC, file)}: ${write.slice(0, 80)}`));
    expect(offenders).toEqual([]);
  });

  it('the guard itself notices a write through Prisma and through SQL', () => {
    expect(writesStatus("await tx.accessRequest.updateMany({ where: { id, status: 'ACTIVE' }, data: { status: 'REVOKED' } })")).toHaveLength(1);
    expect(writesStatus('UPDATE "AccessRequest" r SET status = \'EXPIRED\' WHERE id = $1')).toHaveLength(1);
    expect(writesStatus("await tx.accessRequest.updateMany({ where: { id, status: 'ACTIVE' }, data: { reminderSentAt: now } })")).toHaveLength(0);
    expect(writesStatus(fs.readFileSync(STORE, 'utf8')).length).toBeGreaterThan(0);
  });
});
