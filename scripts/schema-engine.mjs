// Loads Prisma's schema engine (WebAssembly build from the npm registry) and drives it through the
// pg driver adapter, so migrations work on machines that cannot download Prisma's native engine.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);

let loaded = false;
async function loadWasm() {
  if (loaded) return;
  // The package exports the JS glue but not the .wasm beside it, hence the path arithmetic.
  const wasmPath = new URL('schema_engine_bg.wasm', `file://${require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')}`);
  const module = await WebAssembly.compile(fs.readFileSync(wasmPath));
  const imports = {};
  for (const i of WebAssembly.Module.imports(module)) {
    imports[i.module] ??= {};
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the module names the glue functions it needs; nothing is bundled here
    imports[i.module][i.name] = bg[i.name];
  }
  const instance = await WebAssembly.instantiate(module, imports);
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  loaded = true;
}

export const filters = { externalTables: [], externalEnums: [] };

/** adapter-pg runs a migration script by splitting it on every ";", which breaks function bodies ($$ … ; … $$)
 * and even comments with a semicolon. The native engine sends the script whole, as one simple-protocol query
 * (which PostgreSQL runs as one implicit transaction); so do we. */
function sendingScriptsWhole(pgFactory) {
  const connect = pgFactory.connect.bind(pgFactory);
  pgFactory.connect = async () => {
    const adapter = await connect();
    adapter.executeScript = async (script) => {
      try {
        await adapter.underlyingDriver().query(script);
      } catch (error) {
        adapter.onError(error);
      }
    };
    return adapter;
  };
  return pgFactory;
}

export async function openSchemaEngine(databaseUrl) {
  await loadWasm();
  const factory = bindMigrationAwareSqlAdapterFactory(sendingScriptsWhole(new PrismaPg({ connectionString: databaseUrl })));
  return bg.SchemaEngine.new({ datamodels: undefined }, () => {}, factory);
}
