import { randomUUID } from 'node:crypto';
import { sealAll } from '../../src/audit/sealer';
import type { Db, Prisma } from '../../src/db/prisma';

/** Seals every committed event, as the bots' sealer does a few times a second. */
export const seal = (db: Db) => sealAll(db);

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

/** Inserts an audit event the way the application does: unsealed, until `seal` (or a bot's sealer) runs. */
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
 * Runs SQL with the append-only trigger switched off, the way an attacker with the owner's password would (`db`
 * must be the owner's connection: the bot's role may not switch triggers off), and switches it back on in the same transaction (so it is on again even when the SQL fails).
 */
export async function tamper(db: Db, ...statements: string[]): Promise<void> {
  await db.$transaction([
    db.$executeRawUnsafe('ALTER TABLE "AuditEvent" DISABLE TRIGGER audit_event_append_only'),
    ...statements.map((sql) => db.$executeRawUnsafe(sql)),
    db.$executeRawUnsafe('ALTER TABLE "AuditEvent" ENABLE TRIGGER audit_event_append_only'),
  ]);
}

/** A strict RFC 4180 reader (quoted fields, doubled quotes, CRLF records), to read exports back in tests. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"' && field === '') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (text[i] === '"') {
          i += 1;
          break;
        } else field += text[i++];
      }
      if (text[i] !== ',' && text[i] !== '\r') throw new Error(`text after a quoted field at ${i}`);
    } else if (text[i] === ',') {
      record.push(field);
      field = '';
      i += 1;
    } else if (text[i] === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else if (text[i] === '\n' || text[i] === '\r' || text[i] === '"') {
      throw new Error(`bare ${JSON.stringify(text[i])} at ${i}: not RFC 4180`);
    } else field += text[i++];
  }
  if (field !== '' || record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}
