// Lets Node run the TypeScript of bench/, src/ and test/support directly: every required .ts file is transpiled with
// @swc/core (already a dev dependency, via @swc/jest). Transpile only, like jest: `npm run typecheck`
// (tsconfig.test.json includes bench/) is what type-checks these files.
//   node -r ./bench/register.cjs bench/run.ts …
//
// Output is cached in bench/.build (gitignored). The driver fills the cache before it starts the measured
// processes (precompile below), so they never load @swc/core, whose native module alone adds ~30 MiB of RSS.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(__dirname, '.build');
const SOURCE_DIRS = ['src', 'bench', 'test/support'];

function cachePath(filename) {
  const relative = path.relative(ROOT, filename);
  // Files outside the repository (e.g. an experiment's BENCH_BOT_PATCH module) get a flat name under external/.
  return relative.startsWith('..') ? path.join(CACHE, 'external', `${filename.replace(/[\\/]/g, '_')}.js`) : path.join(CACHE, `${relative}.js`);
}

function compile(filename) {
  const { transformSync } = require('@swc/core');
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: false,
    module: { type: 'commonjs' },
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
  });
  const cached = cachePath(filename);
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  fs.writeFileSync(cached, code);
  return code;
}

function fresh(filename) {
  try {
    const cached = cachePath(filename);
    if (fs.statSync(cached).mtimeMs >= fs.statSync(filename).mtimeMs) return fs.readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  return null;
}

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  module._compile(fresh(filename) ?? compile(filename), filename);
};

/** Transpiles every .ts file under src/, bench/ and test/support/ that changed since it was last cached. */
function precompile() {
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.') && entry.name !== 'results') walk(full);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && fresh(full) === null) {
        compile(full);
      }
    }
  };
  for (const dir of SOURCE_DIRS) if (fs.existsSync(path.join(ROOT, dir))) walk(path.join(ROOT, dir));
}

module.exports = { precompile };
