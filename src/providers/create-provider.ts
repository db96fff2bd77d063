import { CommandProvider } from './command-provider';
import { PostgresProvider } from './postgres-provider';
import type { AccessProvider, ProviderConfig } from './types';
import { WebhookProvider } from './webhook-provider';

/** Builds the adapter for one provider entry of the policy file. */
export function createProvider(config: ProviderConfig): AccessProvider {
  switch (config.type) {
    case 'postgres':
      return new PostgresProvider({ url: config.url, mode: config.mode, allowLoginAttributes: config.allowLoginAttributes });
    case 'webhook':
      return new WebhookProvider({ url: config.url, secret: config.secret, timeoutMs: config.timeoutMs, legacySignature: config.legacySignature });
    case 'command':
      return new CommandProvider(config);
    default: {
      // Fails to compile when ProviderConfig gains a type this switch does not handle.
      const unknownConfig: never = config;
      throw new Error(`unknown provider type ${JSON.stringify((unknownConfig as { type: unknown }).type)}`);
    }
  }
}
