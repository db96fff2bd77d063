import type { AccessRequest, Prisma } from '../db/prisma';
import type { AccessProvider } from '../providers/types';

/** Long enough for any provider call (their own timeouts are shorter); past it the transaction, and with it the
 * access lock, is given up and the attempt counts as failed. */
export const ACCESS_LOCK_TIMEOUT_MS = 5 * 60_000;
/** How long to wait for a pooled connection before a transaction gives up. */
export const TRANSACTION_MAX_WAIT_MS = 30_000;

/** The advisory-lock key that serializes grant, overlap check and revoke of one piece of access. Providers whose
 * requests share access (`sharing: 'login'`) lock the access itself, [resource, grant, login]; others lock the
 * request, so two revocations of it never run side by side. */
export function revocationLockKey(request: Pick<AccessRequest, 'id' | 'resourceId' | 'grantName' | 'requesterLogin'>, provider: AccessProvider): string {
  return provider.sharing === 'login' ? JSON.stringify([request.resourceId, request.grantName, request.requesterLogin]) : JSON.stringify(['request', request.id]);
}

/** Takes transaction-level advisory locks on `keys` in one global order (by lock id), so two transactions locking
 * overlapping sets cannot deadlock on each other. */
export async function lockAccessKeys(tx: Prisma.TransactionClient, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.$queryRaw`
    SELECT count(pg_advisory_xact_lock(lock_id))::int AS locked
    FROM (SELECT DISTINCT hashtextextended(key, 0) AS lock_id FROM unnest(${[...keys]}::text[]) AS key ORDER BY 1) AS ordered`;
}

/** Takes the transaction-level advisory locks of `keys` that are free, without waiting; returns the keys it holds.
 * Never waiting is what lets the sweep lock rows first and access second, the opposite of a grant's order. */
export async function tryLockAccessKeys(tx: Prisma.TransactionClient, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await tx.$queryRaw<Array<{ key: string }>>`
    SELECT key FROM unnest(${[...keys]}::text[]) AS key WHERE pg_try_advisory_xact_lock(hashtextextended(key, 0))`;
  return new Set(rows.map((row) => row.key));
}

/** Runs `work` in a transaction (`transaction`: the store's, so effects written in it are delivered at once) holding the lock of this piece of access (revocationLockKey): a grant cannot land
 * between another request's "nobody else holds this" check and its revoke, and a revoke waits for a grant still in
 * flight. The lock lives as long as the transaction. */
export function underAccessLock<T>(
  transaction: (work: (tx: Prisma.TransactionClient) => Promise<T>, options: { timeout: number; maxWait: number }) => Promise<T>,
  request: AccessRequest,
  provider: AccessProvider,
  work: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return transaction(
    async (tx) => {
      await lockAccessKeys(tx, [revocationLockKey(request, provider)]);
      return work(tx);
    },
    { timeout: ACCESS_LOCK_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS },
  );
}

/** Another ACTIVE request that gives the same login the same access on the same resource, if any (its number). */
export async function otherActiveHolder(tx: Prisma.TransactionClient, request: AccessRequest): Promise<number | null> {
  const other = await tx.accessRequest.findFirst({
    where: { id: { not: request.id }, resourceId: request.resourceId, grantName: request.grantName, requesterLogin: request.requesterLogin, status: 'ACTIVE' },
    select: { number: true },
  });
  return other?.number ?? null;
}
