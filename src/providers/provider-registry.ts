import type { Policy } from '../policy/types';
import { createProvider } from './create-provider';
import { type ProviderFingerprint, providerFingerprint } from './fingerprint';
import type { AccessProvider } from './types';

/** One provider instance per policy resource, created once at start-up. */
export class ProviderRegistry {
  private readonly providers = new Map<string, AccessProvider>();
  private readonly fingerprints = new Map<string, ProviderFingerprint>();

  constructor(policy: Policy, create: typeof createProvider = createProvider) {
    for (const resource of policy.resources) {
      this.providers.set(resource.id, create(resource.provider));
      this.fingerprints.set(resource.id, providerFingerprint(resource.provider));
    }
  }

  /** The configuration of the resource's provider as recorded on its grants; null when the resource is not in the
   * policy. */
  fingerprint(resourceId: string): ProviderFingerprint | null {
    return this.fingerprints.get(resourceId) ?? null;
  }

  get(resourceId: string): AccessProvider {
    const provider = this.providers.get(resourceId);
    if (!provider) throw new Error(`no provider for resource "${resourceId}": it is no longer in the policy`);
    return provider;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.providers.values()].map((provider) => provider.close()));
  }
}
