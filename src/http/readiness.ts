import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../db/prisma';

/** Where the code's migrations are, from src/http or dist/http alike. */
export const DEFAULT_MIGRATIONS_DIR = path.resolve(__dirname, '../../prisma/migrations');

/** How long a dependency may take to answer before the process counts as not ready. */
const CHECK_TIMEOUT_MS = 1_000;

export type CheckName = 'postgres' | 'redis' | 'migrations';

export interface ReadinessReport {
  ready: boolean;
  /** 'ok', or why the check failed (no secrets, no connection strings). */
  checks: Record<CheckName, string>;
  /** What an operator should fix although the process can work (the audit role check); not a failed check. */
  warnings: string[];
}

/** A refusal worth showing as it is (as opposed to a driver error, which only goes to the logs). */
class NotReady extends Error {}

function withinTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NotReady(`${what} did not answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The migrations in the code (directory names, as `_prisma_migrations` records them). */
export function migrationNames(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Whether this process can do its work: its database answers and has every migration the code expects, and Redis
 * (the expiry queue) answers. For load balancers and orchestrators (GET /readyz). */
export class Readiness {
  private readonly expectedMigrations: string[];

  constructor(private readonly deps: { db: Db; redisReachable: (timeoutMs: number) => Promise<boolean>; logger: Logger; migrationsDir?: string; warnings?: () => string[] }) {
    // Read once: the code, and so the migrations it expects, does not change while the process runs.
    this.expectedMigrations = migrationNames(deps.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  }

  async check(): Promise<ReadinessReport> {
    const [postgres, redis, migrations] = await Promise.all([
      this.outcome('postgres', () => withinTimeout(this.deps.db.$queryRaw`SELECT 1`, 'PostgreSQL')),
      this.outcome('redis', async () => {
        if (!(await this.deps.redisReachable(CHECK_TIMEOUT_MS))) throw new NotReady(`Redis did not answer within ${CHECK_TIMEOUT_MS / 1000} s`);
      }),
      this.outcome('migrations', () => withinTimeout(this.checkMigrations(), 'PostgreSQL')),
    ]);
    const checks = { postgres, redis, migrations };
    return { ready: Object.values(checks).every((result) => result === 'ok'), checks, warnings: this.deps.warnings?.() ?? [] };
  }

  private async checkMigrations(): Promise<void> {
    const rows = await this.deps.db.$queryRaw<Array<{ migration_name: string }>>`
      SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
    const applied = new Set(rows.map((row) => row.migration_name));
    const missing = this.expectedMigrations.filter((name) => !applied.has(name));
    if (missing.length) throw new NotReady(`not applied: ${missing.join(', ')} (run npm run db:migrate)`);
  }

  private async outcome(name: CheckName, run: () => Promise<unknown>): Promise<string> {
    try {
      await run();
      return 'ok';
    } catch (err) {
      if (err instanceof NotReady) return err.message;
      this.deps.logger.warn({ err, check: name }, 'readiness check failed');
      return 'failed (see the bot logs)';
    }
  }
}
