// `npm run sandbox`: the whole bot, locally, in a browser (docs/sandbox.md).
import fs from 'node:fs';
import { SandboxError } from './batteries';
import { startSandbox } from './sandbox';

/** Exits once what was written reached the terminal or pipe (process.exit alone may drop the last lines on a pipe). */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

async function main(): Promise<void> {
  if (fs.existsSync('.env.sandbox')) process.loadEnvFile('.env.sandbox');
  const env = process.env;
  const port = env.SANDBOX_PORT ? Number(env.SANDBOX_PORT) : 3100;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`sandbox: SANDBOX_PORT must be a port number (0-65535), not ${JSON.stringify(env.SANDBOX_PORT)}`);
    return exit(1);
  }
  const say = (line: string) => console.log(`sandbox: ${line}`);
  say(
    `starting (${env.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : `embedded PostgreSQL in ${env.SANDBOX_DATA_DIR || '.sandbox/'}`}, ${env.REDIS_URL ? 'Redis from REDIS_URL' : 'redis-server from PATH'})`,
  );
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sandbox = await startSandbox({
      databaseUrl: env.DATABASE_URL || undefined,
      migrationDatabaseUrl: env.MIGRATION_DATABASE_URL || undefined,
      targetDatabaseUrl: env.SANDBOX_TARGET_DATABASE_URL || undefined,
      redisUrl: env.REDIS_URL || undefined,
      port,
      dataDir: env.SANDBOX_DATA_DIR || undefined,
      logLevel: env.LOG_LEVEL || 'warn',
      log: say,
    });
  } catch (err) {
    if (err instanceof SandboxError) console.error(`sandbox: ${err.message}`);
    else if ((err as { code?: string }).code === 'EADDRINUSE') console.error(`sandbox: port ${port} is taken; set SANDBOX_PORT to another (0 picks a free one)`);
    else console.error('sandbox: could not start:', err);
    return exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping the bot, the stand-in${env.DATABASE_URL ? '' : ', PostgreSQL'}${env.REDIS_URL ? '' : ', Redis'}…`);
    await sandbox.stop();
    say('stopped');
    exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.log(`\nBreakglass sandbox is up: open ${sandbox.url}\n(Ctrl-C stops everything)\n`);
}

void main();
