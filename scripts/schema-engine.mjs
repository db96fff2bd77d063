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
  for (const i of WebAssembly.Module.imports(module)) (imports[i.module] ??= {})[i.name] = bg[i.name];
  const instance = await WebAssembly.instantiate(module, imports);
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  loaded = true;
}

export const filters = { externalTables: [], externalEnums: [] };

export async function openSchemaEngine(databaseUrl) {
  await loadWasm();
  const factory = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: databaseUrl }));
  return bg.SchemaEngine.new({ datamodels: undefined }, () => {}, factory);
}
