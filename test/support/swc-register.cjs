// Lets a plain `node` child process run the TypeScript sources (`node -r ./test/support/swc-register.cjs src/main.ts`),
// compiled on the fly with the same @swc/core the tests use, so fault tests can run and kill real bot processes.
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    module: { type: 'commonjs' },
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
