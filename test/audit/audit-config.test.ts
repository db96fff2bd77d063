import { ConfigError, loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/logger';

const REQUIRED = {
  SLACK_BOT_TOKEN: 'xoxb-test-1111-2222',
  SLACK_SIGNING_SECRET: '8f14e45fceea167a5a36dedd4bea2543',
  DATABASE_URL: 'postgresql://breakglass@db.internal:5432/breakglass',
  REDIS_URL: 'redis://cache.internal:6379/0',
};
const TOKEN = 'a3f1c2e4b5d6978877665544332211ffeeddccbbaa0099887766554433221100';

describe('AUDIT_API_TOKEN', () => {
  it('is optional: unset or empty leaves GET /audit switched off', () => {
    expect(loadConfig(REQUIRED).auditApiToken).toBeUndefined();
    expect(loadConfig({ ...REQUIRED, AUDIT_API_TOKEN: '' }).auditApiToken).toBeUndefined();
    expect(loadConfig({ ...REQUIRED, AUDIT_API_TOKEN: TOKEN }).auditApiToken).toBe(TOKEN);
  });

  it('refuses short or header-unsafe tokens without echoing them', () => {
    for (const [value, why] of [
      ['short-token', /must be at least 32 characters/],
      [`${TOKEN.slice(0, 20)} ${TOKEN.slice(20)}`, /must be printable ASCII without spaces/],
    ] as const) {
      let error: unknown;
      try {
        loadConfig({ ...REQUIRED, AUDIT_API_TOKEN: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(new RegExp(`^AUDIT_API_TOKEN ${why.source}`));
      expect((error as Error).message).not.toContain(value);
    }
  });

  it('is redacted from logs, in the config and on its own', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    logger.info({ config: loadConfig({ ...REQUIRED, AUDIT_API_TOKEN: TOKEN }) }, 'config');
    logger.info({ auditApiToken: TOKEN, route: { auditApiToken: TOKEN } }, 'route');
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(JSON.parse(lines[0]).config.auditApiToken).toBe('[redacted]');
  });
});
