import { randomUUID } from 'node:crypto';
import type { Db, Prisma } from '../../src/db/prisma';

/** A request row to hang audit events on; returns its id and BG-number. */
export async function createRequest(db: Db, overrides: Partial<Prisma.AccessRequestUncheckedCreateInput> = {}): Promise<{ id: string; number: number }> {
  const request = await db.accessRequest.create({
    data: {
      id: randomUUID(),
      requesterId: 'U0REQUESTER',
      requesterLogin: 'alice',
      resourceId: 'payments-db',
      roleId: 'read',
      grantName: 'payments_read',
      durationSeconds: 600,
      reason: 'audit fixture',
      channelId: 'C0INCIDENT',
      requiredApprovals: 1,
      ...overrides,
    },
  });
  return { id: request.id, number: request.number };
}

/** Inserts an audit event the way the application does (the trigger chains it). */
export async function addEvent(
  db: Db | Prisma.TransactionClient,
  event: { requestId?: string | null; actor?: string; action?: string; details?: Record<string, unknown>; createdAt?: Date } = {},
) {
  return db.auditEvent.create({
    data: {
      requestId: event.requestId ?? null,
      actor: event.actor ?? 'system',
      action: event.action ?? 'REQUESTED',
      details: (event.details ?? {}) as Prisma.InputJsonValue,
      ...(event.createdAt ? { createdAt: event.createdAt } : {}),
    },
  });
}

/**
 * Runs SQL as the superuser with the append-only trigger switched off, the way an attacker with database rights
 * would, and switches it back on in the same transaction (so it is on again even when the SQL fails).
 */
export async function tamper(db: Db, ...statements: string[]): Promise<void> {
  await db.$transaction([
    db.$executeRawUnsafe('ALTER TABLE "AuditEvent" DISABLE TRIGGER audit_event_append_only'),
    ...statements.map((sql) => db.$executeRawUnsafe(sql)),
    db.$executeRawUnsafe('ALTER TABLE "AuditEvent" ENABLE TRIGGER audit_event_append_only'),
  ]);
}
