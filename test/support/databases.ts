import { Client } from 'pg';
import { createPrisma, type Db } from '../../src/db/prisma';

// The two connections of the tests (global-setup.ts makes them): TEST_DATABASE_URL is the bot's restricted role,
// TEST_OWNER_DATABASE_URL the tables' owner.

/** The LOGIN role the bot under test connects as: a member of breakglass_app (the bot's rights, created by the
 * app_role migration) and nothing more. Cluster-wide, like every role, so test runs of other checkouts share it. */
export const TEST_BOT_ROLE = 'breakglass_test_bot';

/** A connection as the tables' owner (what MIGRATION_DATABASE_URL is in production), for test code that needs more
 * than the bot may do: emptying tables, arranging rows, playing an attacker who has the owner's password. */
export function createOwnerDb(poolSize?: number): Db {
  return createPrisma(process.env.TEST_OWNER_DATABASE_URL!, poolSize);
}

/** Every test file starts from empty tables so sweeps (the reconciler) only see that file's requests. As the owner:
 * the bot's role may not TRUNCATE (nor delete audit events at all). */
export async function truncateAll(): Promise<void> {
  const owner = new Client({ connectionString: process.env.TEST_OWNER_DATABASE_URL });
  await owner.connect();
  try {
    await owner.query(
      'TRUNCATE "AuditEvent", "AuditChainHead", "Approval", "Grant", "AccessRequest", "Effect", "EffectRunnerBeat", "ReportRun", "IncidentClosure" RESTART IDENTITY CASCADE',
    );
  } finally {
    await owner.end();
  }
}
