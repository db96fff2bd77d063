// `npm run audit -- verify|export …`: runs the compiled CLI (dist/cli/audit.js), building it first when needed.
import { runCompiledCli } from './run-cli.mjs';

runCompiledCli('audit', 'audit', process.argv.slice(2));
