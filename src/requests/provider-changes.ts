import type { Logger } from 'pino';
import type { Db } from '../db/prisma';
import {
  describeChange,
  type LiveGrant,
  needsDecision,
  type ProviderChange,
  type ProviderChangeSetting,
  type ProviderIdentity,
  providerChanges,
  refusalText,
  VANISHED_ACKNOWLEDGED,
} from '../domain/provider-changes';
import { recordAudit, SYSTEM_ACTOR } from '../services/audit-log';
import type { ProviderRegistry } from '../providers/provider-registry';
import { effectsFor, shown } from './effect-plans';
import { grantTarget } from './request-reads';
import { queueEffects, type RequestStore, type StoreTransaction } from './request-store';

/** The bot does not start: live grants' providers changed and BREAKGLASS_PROVIDER_CHANGE does not say what to do. */
export class ProviderChangeError extends Error {
  override readonly name = 'ProviderChangeError';
}

export interface ProviderChangeDeps {
  db: Db;
  store: RequestStore;
  /** The configuration each resource's provider has now; null when the resource is not in the policy. */
  current: (resourceId: string) => ProviderIdentity | null;
  setting: ProviderChangeSetting;
  /** Whether the grant is in place on the target its resource's provider names now (provider.verify); null when
   * that cannot be told (the target failed to answer). Asked before `revoke` revokes there: a revocation on a target
   * that never had the grant would "succeed" and leave the access where it was made. */
  presentNow: (requestId: string) => Promise<boolean | null>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/**
 * Runs at start-up, before anything is delivered: every live grant (Grant ACTIVE: its request ACTIVE or REVOKING) is
 * compared with the provider its resource has now. Grants made before fingerprints were kept get the current one.
 * A grant whose provider changed or vanished stops the start (ProviderChangeError, listing them) unless the setting
 * says `accept` or `revoke`; see docs/providers.md, "Provider changes under live grants". Each grant is updated only if its
 * fingerprint is still the one read, so processes starting together act on it once.
 */
export async function checkProviderChanges(deps: ProviderChangeDeps): Promise<ProviderChange[]> {
  const rows = await deps.db.grant.findMany({
    where: { status: 'ACTIVE' },
    select: {
      id: true,
      requestId: true,
      resourceId: true,
      roleId: true,
      login: true,
      providerFingerprint: true,
      providerDescription: true,
      request: { select: { number: true } },
    },
    orderBy: { grantedAt: 'asc' },
  });
  const grants: LiveGrant[] = rows.map((row) => ({
    grantId: row.id,
    requestId: row.requestId,
    number: row.request.number,
    resourceId: row.resourceId,
    roleId: row.roleId,
    login: row.login,
    made: row.providerFingerprint === null ? null : { fingerprint: row.providerFingerprint, description: row.providerDescription ?? 'unknown' },
  }));
  const changes = providerChanges(grants, deps.current);
  for (const change of changes) {
    if (change.kind !== 'unrecorded') continue;
    await deps.store.transaction(async (tx) => {
      if (!(await refingerprint(tx, change.grant, null, change.current))) return;
      await recordAudit(tx, { requestId: change.grant.requestId, actor: SYSTEM_ACTOR, action: 'PROVIDER_FINGERPRINT_RECORDED', details: { provider: change.current.description } });
    });
    deps.logger.info({ requestId: change.grant.requestId }, describeChange(change));
  }
  const decisions = needsDecision(changes);
  if (decisions.length === 0) return changes;
  if (deps.setting === 'refuse') {
    const text = refusalText(decisions);
    deps.logger.error({ grants: decisions.map((change) => `BG-${change.grant.number}`) }, text);
    throw new ProviderChangeError(text);
  }
  for (const change of decisions) {
    // Outside the transaction: one read of the target, before anything is written (nothing happens between two
    // steps that must both happen; a start that dies here has changed nothing).
    const present = deps.setting === 'revoke' && change.kind === 'changed' ? await deps.presentNow(change.grant.requestId) : null;
    await deps.store.transaction((tx) => act(tx, deps, change, present));
    deps.logger.warn({ requestId: change.grant.requestId, setting: deps.setting }, describeChange(change));
  }
  return changes;
}

async function act(tx: StoreTransaction, deps: ProviderChangeDeps, change: Exclude<ProviderChange, { kind: 'unrecorded' }>, present: boolean | null): Promise<void> {
  const { grant } = change;
  const from = change.made?.fingerprint ?? null;
  const details = { setting: deps.setting, made: change.made?.description ?? null };
  if (change.kind === 'vanished') {
    // Nothing here can revoke it: say so where people look, once.
    if (!(await refingerprint(tx, grant, from, { fingerprint: VANISHED_ACKNOWLEDGED, description: `${grant.resourceId} no longer in the policy` }))) return;
    await recordAudit(tx, { requestId: grant.requestId, actor: SYSTEM_ACTOR, action: 'PROVIDER_VANISHED', details });
    const request = await alertSubject(tx, grant.requestId);
    queueEffects(tx, [effectsFor.providerVanishedAlert(request), effectsFor.home(request)]);
    return;
  }
  if (!(await refingerprint(tx, grant, from, change.current))) return;
  const moved = { ...details, now: change.current.description };
  if (deps.setting === 'accept') {
    await recordAudit(tx, { requestId: grant.requestId, actor: SYSTEM_ACTOR, action: 'PROVIDER_CHANGE_ACCEPTED', details: moved });
    return;
  }
  if (present !== true) {
    // Not (or not knowably) on the target the policy names now: revoking there would prove nothing. The access may
    // still be where it was made; people must remove it there. The request ends at its expiry as usual.
    await recordAudit(tx, { requestId: grant.requestId, actor: SYSTEM_ACTOR, action: 'PROVIDER_CHANGE_NOT_FOUND', details: { ...moved, checked: present === false } });
    const request = await alertSubject(tx, grant.requestId);
    queueEffects(tx, [effectsFor.providerNotFoundAlert(request, change.made.description), effectsFor.home(request)]);
    return;
  }
  await recordAudit(tx, { requestId: grant.requestId, actor: SYSTEM_ACTOR, action: 'PROVIDER_CHANGE_REVOKED', details: moved });
  // As Revoke now does: the revocation runs in the expiry worker, with the provider the policy has now. A request
  // already REVOKING is left to the revocation under way, which uses that provider too.
  await deps.store.moveIn(tx, {
    requestId: grant.requestId,
    from: ['ACTIVE'],
    to: 'REVOKING',
    data: { endReason: 'revoked' }, // no endedBy: nobody clicked; the thread notice says why
    actor: SYSTEM_ACTOR,
    action: 'REVOKE_REQUESTED',
    details: { providerChanged: true },
    effects: (r) => [effectsFor.scheduleExpiry(r, new Date()), ...shown(r, { notice: 'provider_changed_revoking' })],
  });
}

/** What the thread/security-channel alert and the Home refresh need of the request. */
function alertSubject(tx: StoreTransaction, requestId: string) {
  return tx.accessRequest.findUniqueOrThrow({ where: { id: requestId }, select: { id: true, channelId: true, requesterId: true } });
}

/** Sets the grant's fingerprint if it is still `from`; false when another process got there first. */
async function refingerprint(tx: StoreTransaction, grant: LiveGrant, from: string | null, to: ProviderIdentity): Promise<boolean> {
  const { count } = await tx.grant.updateMany({
    where: { id: grant.grantId, status: 'ACTIVE', providerFingerprint: from },
    data: { providerFingerprint: to.fingerprint, providerDescription: to.description },
  });
  return count === 1;
}

/** ProviderChangeDeps.presentNow: asks the provider the policy has now whether the request's grant is in place; null
 * when it fails to answer (a stateless provider without a verify step answers from memory: false after a restart). */
export async function presentOnTargetNow(db: Db, providers: Pick<ProviderRegistry, 'get'>, requestId: string, logger: Pick<Logger, 'warn'>): Promise<boolean | null> {
  const request = await db.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
  try {
    return await providers.get(request.resourceId).verify(grantTarget(request));
  } catch (err) {
    logger.warn({ err, requestId }, 'could not tell whether a grant is on the target its provider names now');
    return null;
  }
}
