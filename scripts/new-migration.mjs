// `npm run db:new-migration -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL
// that takes the schema as committed (git HEAD) to prisma/schema.prisma as it is now. No database needed.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openSchemaEngine, filters } from './schema-engine.mjs';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:new-migration -- <snake_case_name>');
  process.exit(1);
}
const schemaPath = 'prisma/schema.prisma';
let previous = null;
try {
  previous = execFileSync('git', ['show', `HEAD:${schemaPath}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
} catch {
  previous = null; // no committed schema yet: diff from an empty database
}
const current = fs.readFileSync(schemaPath, 'utf8');
// The engine wants a connection even for a datamodel-to-datamodel diff; it reads nothing from it.
const engine = await openSchemaEngine(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
const datamodel = (content) => ({ tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content }] });
const { stdout: sql } = await engine.diff({
  from: previous ? datamodel(previous) : { tag: 'empty' },
  to: datamodel(current),
  script: true,
  shadowDatabaseUrl: null,
  exitCode: null,
  filters,
});
if (!sql.trim() || /This is an empty migration/.test(sql)) {
  console.log('db:new-migration: schema unchanged, nothing written');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = path.join('prisma/migrations', `${stamp}_${name}`);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'migration.sql'), sql);
console.log(`db:new-migration: wrote ${dir}/migration.sql`);
process.exit(0);
