import fs from 'node:fs';
import { createBreakglass } from './app';
import { StartupError } from './app/connection-errors';
import { limitHeapGrowth } from './app/heap-growth';
import { exitOnProcessFaults } from './app/process-faults';
import { type AppConfig, ConfigError, loadConfig } from './config/env';
import { createLogger } from './logger';
import { loadPolicy, PolicyError } from './policy/load-policy';
import { ProviderChangeError } from './requests/provider-changes';
import { PagerDutyScheduleError } from './services/pagerduty-check';
import type { Policy } from './policy/types';

async function main(): Promise<void> {
  if (fs.existsSync('.env')) process.loadEnvFile('.env');
  let config: AppConfig;
  let policy: Policy;
  try {
    // `npm start -- --role=worker` ends up here as `node dist/main.js --role=worker`.
    config = loadConfig(process.env, process.argv.slice(2));
    policy = loadPolicy(config.policyPath);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PolicyError) {
      console.error(`breakglass: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  limitHeapGrowth(config.heapGrowingPercent);
  const logger = createLogger(config.logLevel);
  exitOnProcessFaults(logger);
  const bot = createBreakglass({ config, policy, logger });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await bot.stop();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  try {
    await bot.start();
  } catch (err) {
    // Already logged with the list; said on stderr too, like a bad configuration.
    if (err instanceof ProviderChangeError || err instanceof PagerDutyScheduleError || err instanceof StartupError) console.error(`breakglass: ${err.message}`);
    if (err instanceof StartupError) logger.fatal({ ...err.explanation }, `could not start: ${err.message}`);
    else logger.fatal({ err }, 'could not start');
    await bot.stop().catch(() => {});
    process.exit(1);
  }
}

void main();
