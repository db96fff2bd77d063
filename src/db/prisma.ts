import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import { baselineWasmOnly } from './wasm-tiering';

export type Db = PrismaClient;

/** Connections beyond the expiry worker's, for Slack clicks and the reconciler. */
const POOL_HEADROOM = 10;

/** Revocations hold a connection while they talk to the target (under the overlap lock), so the pool is sized
 * from the expiry worker's concurrency. */
export function createPrisma(databaseUrl: string, expiryConcurrency = 20): PrismaClient {
  baselineWasmOnly(); // before the first query compiles Prisma's query compiler (WebAssembly)
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: expiryConcurrency + POOL_HEADROOM }) });
}

export type { AccessRequest, Approval, Grant, AuditEvent, RevokeAlert, Extension, ExtensionApproval, EmergencyReview } from '../generated/prisma/client';
export { RequestStatus, GrantStatus, Prisma } from '../generated/prisma/client';
