// Runs a compiled CLI (dist/cli/<name>.js) with the caller's arguments: `npm run audit -- …`, `npm run policy:check -- …`.
// In a source checkout it first builds when dist/ is missing or older than src/ (a fresh clone after `npm install`,
// or after a pull); the build's output goes to stderr so it never mixes with what the CLI prints on stdout.
// In the Docker image there is no src/: dist/ was built with the image and is used as is.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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

function needsBuild(cli) {
  if (!fs.existsSync(sources)) return false;
  if (!fs.existsSync(cli)) return true;
  return newestSourceMtime(sources) > fs.statSync(cli).mtimeMs;
}

/** `label` prefixes this script's own messages (e.g. "audit"); exits with the CLI's status (3: could not run it). */
export function runCompiledCli(name, label, args) {
  const cli = path.join(root, `dist/cli/${name}.js`);
  if (needsBuild(cli)) {
    process.stderr.write(`${label}: building (npm run build) first…\n`);
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
    if (build.status !== 0) {
      process.stderr.write(`${label}: the build failed, see above\n`);
      process.exit(3);
    }
  }
  if (!fs.existsSync(cli)) {
    process.stderr.write(`${label}: ${path.relative(process.cwd(), cli)} is missing; run \`npm run build\`\n`);
    process.exit(3);
  }
  // Runs in the caller's working directory, so the CLI finds the same .env (and relative paths) as the caller.
  const run = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  process.exit(run.status ?? 3);
}
