// `npm run audit -- verify|export …`: runs the compiled CLI (dist/cli/audit.js).
// In a source checkout it first builds when dist/ is missing or older than src/ (a fresh clone after `npm install`,
// or after a pull); the build's output goes to stderr so it never mixes with an export on stdout.
// In the Docker image there is no src/: dist/ was built with the image and is used as is.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli/audit.js');
const sources = path.join(root, 'src');

function newestSourceMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function needsBuild() {
  if (!fs.existsSync(sources)) return false;
  if (!fs.existsSync(cli)) return true;
  return newestSourceMtime(sources) > fs.statSync(cli).mtimeMs;
}

if (needsBuild()) {
  process.stderr.write('audit: building (npm run build) first…\n');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (build.status !== 0) {
    process.stderr.write('audit: the build failed, see above\n');
    process.exit(3);
  }
}
if (!fs.existsSync(cli)) {
  process.stderr.write(`audit: ${path.relative(process.cwd(), cli)} is missing; run \`npm run build\`\n`);
  process.exit(3);
}
// Runs in the caller's working directory, so the CLI finds the same .env as the bot.
const run = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 3);
