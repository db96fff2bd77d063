// `npm run policy:check -- <file>` and `npm run policy:schema`: runs the compiled CLI (dist/cli/policy-check.js),
// building it first when needed.
import { runCompiledCli } from './run-cli.mjs';

runCompiledCli('policy-check', 'policy:check', process.argv.slice(2));
