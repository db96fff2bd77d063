/** At start-up, live grants are compared with the providers the policy has now: a grant whose provider points
 * somewhere else, or is gone, would otherwise be revoked against the wrong target (or not at all) without anyone
 * noticing. Plain logic; src/requests/provider-changes.ts reads the grants and acts. */

/** What a provider's configuration was or is, without secrets (src/providers/fingerprint.ts). */
export interface ProviderIdentity {
  fingerprint: string;
  description: string;
}

export interface LiveGrant {
  grantId: string;
  requestId: string;
  /** The request's number (BG-<n>). */
  number: number;
  resourceId: string;
  roleId: string;
  login: string;
  /** Null on grants made before fingerprints were kept. */
  made: ProviderIdentity | null;
}

/** The fingerprint of a grant whose provider vanished and whose operator was told (with accept or revoke): not listed
 * again while the resource stays gone. */
export const VANISHED_ACKNOWLEDGED = 'vanished-acknowledged';

export type ProviderChange =
  /** The resource's provider now has another configuration. */
  | { kind: 'changed'; grant: LiveGrant; made: ProviderIdentity; current: ProviderIdentity }
  /** The resource is no longer in the policy (or was acknowledged gone and is back with another provider). */
  | { kind: 'vanished'; grant: LiveGrant; made: ProviderIdentity | null }
  /** Made before fingerprints were kept: nothing to compare; it gets the current one. */
  | { kind: 'unrecorded'; grant: LiveGrant; current: ProviderIdentity };

/** What to do when live grants' providers changed: `refuse` (the default) to start, `accept` the new configuration
 * for them, or `revoke` them now with the current configuration. */
export const PROVIDER_CHANGE_SETTINGS = ['refuse', 'accept', 'revoke'] as const;
export type ProviderChangeSetting = (typeof PROVIDER_CHANGE_SETTINGS)[number];

/** The grants whose provider is not the one they were made with. `current` is the resource's provider now (null:
 * not in the policy). */
export function providerChanges(grants: readonly LiveGrant[], current: (resourceId: string) => ProviderIdentity | null): ProviderChange[] {
  const changes: ProviderChange[] = [];
  for (const grant of grants) {
    const now = current(grant.resourceId);
    const acknowledgedGone = grant.made?.fingerprint === VANISHED_ACKNOWLEDGED;
    if (now === null) {
      if (!acknowledgedGone) changes.push({ kind: 'vanished', grant, made: grant.made });
    } else if (grant.made === null) {
      changes.push({ kind: 'unrecorded', grant, current: now });
    } else if (acknowledgedGone) {
      // Gone, acknowledged, and back: whatever it is now, it is not what made the grant.
      changes.push({ kind: 'changed', grant, made: grant.made, current: now });
    } else if (grant.made.fingerprint !== now.fingerprint) {
      changes.push({ kind: 'changed', grant, made: grant.made, current: now });
    }
  }
  return changes;
}

/** The changes a start needs a decision on (`unrecorded` ones are taken as they are). */
export function needsDecision(changes: readonly ProviderChange[]): Array<Exclude<ProviderChange, { kind: 'unrecorded' }>> {
  return changes.filter((change): change is Exclude<ProviderChange, { kind: 'unrecorded' }> => change.kind !== 'unrecorded');
}

/** One line per grant: `BG-12 payments-db/write for alice: postgres … mode=membership -> postgres … mode=membership`. */
export function describeChange(change: ProviderChange): string {
  const { grant } = change;
  const who = `BG-${grant.number} ${grant.resourceId}/${grant.roleId} for ${grant.login}`;
  switch (change.kind) {
    case 'changed':
      return `${who}: made with ${change.made.description}, the policy now says ${change.current.description}`;
    case 'vanished':
      return `${who}: made with ${change.made?.description ?? 'an unrecorded configuration'}, and ${grant.resourceId} is no longer in the policy`;
    case 'unrecorded':
      return `${who}: made before provider fingerprints were kept; recorded as ${change.current.description}`;
  }
}

/** Why the bot does not start, and what to do. */
export function refusalText(changes: readonly ProviderChange[]): string {
  const lines = needsDecision(changes).map((change) => `  - ${describeChange(change)}`);
  return [
    `the provider of ${lines.length === 1 ? 'a live grant' : `${lines.length} live grants`} changed since ${lines.length === 1 ? 'it was' : 'they were'} made:`,
    ...lines,
    'Breakglass cannot revoke with a configuration it no longer has. Restore the old provider in the policy, or start once with',
    '  BREAKGLASS_PROVIDER_CHANGE=accept  (the grants now belong to the new configuration; their revocation uses it), or',
    '  BREAKGLASS_PROVIDER_CHANGE=revoke  (revoke them now with the new configuration).',
    'Grants whose resource is gone are alerted in their threads either way and must be removed on the target by hand.',
  ].join('\n');
}
