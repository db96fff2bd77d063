import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export type Db = PrismaClient;

export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}

export type { AccessRequest, Approval, Grant, AuditEvent } from '../generated/prisma/client';
export { RequestStatus, GrantStatus, Prisma } from '../generated/prisma/client';
