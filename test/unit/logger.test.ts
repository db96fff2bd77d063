import { createLogger, scrubSecrets } from '../../src/logger';
import { boltLogger } from '../../src/slack/bolt-logger';

/** A logger writing into an array; each entry is one parsed JSON line, with the raw line kept for leak checks. */
function capture(level = 'info') {
  const raw: string[] = [];
  const logger = createLogger(level, {
    write(line: string) {
      raw.push(line);
    },
  });
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, any>);
  return { logger, raw, lines };
}

const PASSWORD = 'hunter2-Pw9';
const CONNECTION_STRING = `postgresql://admin:${PASSWORD}@db.internal:5432/payments`;

describe('createLogger', () => {
  it('writes one JSON object per line with level, message and the service name', () => {
    const { logger, raw, lines } = capture();
    logger.info({ requestId: 'req_1' }, 'hello');
    expect(raw).toHaveLength(1);
    expect(raw[0].endsWith('\n')).toBe(true);
    expect(lines()[0]).toMatchObject({ level: 30, msg: 'hello', service: 'breakglass', requestId: 'req_1' });
  });

  it('honours the level', () => {
    const { logger, lines } = capture('warn');
    logger.info('dropped');
    logger.debug('dropped too');
    logger.warn('kept');
    expect(lines().map((line) => line.msg)).toEqual(['kept']);
  });

  it('redacts token, secret, url, password, connectionString and authorization at the top level', () => {
    const { logger, raw, lines } = capture();
    logger.info(
      {
        token: 'xoxb-test-top',
        secret: 'top-secret-value',
        url: CONNECTION_STRING,
        password: PASSWORD,
        connectionString: CONNECTION_STRING,
        authorization: 'Bearer top-bearer',
        requestId: 'req_1',
      },
      'fields',
    );
    const line = lines()[0];
    for (const key of ['token', 'secret', 'url', 'password', 'connectionString', 'authorization']) expect(line[key]).toBe('[redacted]');
    expect(line.requestId).toBe('req_1');
    for (const leaked of ['top-token', 'top-secret-value', PASSWORD, 'top-bearer']) expect(raw[0]).not.toContain(leaked);
  });

  it('redacts the same fields nested one level down, keeping their siblings', () => {
    const { logger, raw, lines } = capture();
    logger.info(
      {
        provider: { type: 'postgres', url: CONNECTION_STRING, password: PASSWORD },
        slack: { token: 'xoxb-test-nested', channel: 'C0INCIDENT' },
        webhook: { secret: 'nested-secret-value', timeoutMs: 5000 },
        request: { authorization: 'Bearer nested-bearer', connectionString: CONNECTION_STRING },
      },
      'nested',
    );
    const line = lines()[0];
    expect(line.provider).toEqual({ type: 'postgres', url: '[redacted]', password: '[redacted]' });
    expect(line.slack).toEqual({ token: '[redacted]', channel: 'C0INCIDENT' });
    expect(line.webhook).toEqual({ secret: '[redacted]', timeoutMs: 5000 });
    expect(line.request).toEqual({ authorization: '[redacted]', connectionString: '[redacted]' });
    for (const leaked of [PASSWORD, 'nested-token', 'nested-secret-value', 'nested-bearer']) expect(raw[0]).not.toContain(leaked);
  });

  it('redacts the secrets of a logged AppConfig', () => {
    const { logger, raw, lines } = capture();
    logger.info(
      {
        config: {
          slackBotToken: 'xoxb-test-config',
          slackSigningSecret: 'config-signing-secret',
          databaseUrl: CONNECTION_STRING,
          redisUrl: 'redis://:redis-pass-Qz4@cache:6379',
          port: 3000,
        },
      },
      'config',
    );
    const { config } = lines()[0];
    expect(config).toEqual({
      slackBotToken: '[redacted]',
      slackSigningSecret: '[redacted]',
      databaseUrl: '[redacted]',
      redisUrl: '[redacted]',
      port: 3000,
    });
    for (const leaked of ['config-token', 'config-signing-secret', PASSWORD, 'redis-pass-Qz4']) expect(raw[0]).not.toContain(leaked);
  });

  it('redacts the PagerDuty token of a logged AppConfig, and a PagerDuty Authorization header in free text', () => {
    const { logger, raw, lines } = capture();
    logger.info({ config: { pagerDuty: { token: 'pd-secret-Tk7', apiUrl: 'https://api.pagerduty.com' } } }, 'config');
    expect(lines()[0].config.pagerDuty.token).toBe('[redacted]');
    expect(raw[0]).not.toContain('pd-secret-Tk7');
    expect(scrubSecrets('request failed: Authorization: Token token=pd-secret-Tk7 refused')).toBe('request failed: Authorization: Token token=*** refused');
  });

  it('does not redact fields that merely resemble the names', () => {
    const { logger, lines } = capture();
    logger.info({ tokenCount: 3, urlPath: '/slack/events', requestId: 'req_1' }, 'not secret');
    expect(lines()[0]).toMatchObject({ tokenCount: 3, urlPath: '/slack/events', requestId: 'req_1' });
  });

  describe('errors', () => {
    const failure = () => new Error(`connect ECONNREFUSED for ${CONNECTION_STRING}`);

    it('logs { err } with the password scrubbed from message and stack, keeping the rest', () => {
      const { logger, raw, lines } = capture();
      logger.error({ err: failure(), requestId: 'req_1' }, 'grant failed');
      const line = lines()[0];
      expect(raw[0]).not.toContain(PASSWORD);
      expect(line.msg).toBe('grant failed');
      expect(line.err.type).toBe('Error');
      expect(line.err.message).toBe('connect ECONNREFUSED for postgresql://admin:***@db.internal:5432/payments');
      expect(line.err.stack).toContain('connect ECONNREFUSED for postgresql://admin:***@db.internal');
      expect(line.requestId).toBe('req_1');
    });

    it('scrubs the password from an error cause as well', () => {
      const { logger, raw } = capture();
      logger.error({ err: new Error('could not grant', { cause: failure() }) }, 'grant failed');
      expect(raw[0]).toContain('could not grant');
      expect(raw[0]).not.toContain(PASSWORD);
    });

    it('scrubs a Slack token from an error message', () => {
      const { logger, raw } = capture();
      logger.error({ err: new Error('bad auth with xoxb-test-5678-Leaked') }, 'slack call failed');
      expect(raw[0]).not.toContain('5678-Leaked');
    });

    it('logs an Error passed directly (logger.error(err)) without the password', () => {
      // pino copies err.message into `msg` when the error is the first argument; that copy must be scrubbed too.
      const { logger, raw } = capture();
      logger.error(failure());
      expect(raw).toHaveLength(1);
      expect(raw[0]).not.toContain(PASSWORD);
    });
  });

  it('scrubs connection strings and tokens from a free-text message (as boltLogger passes Bolt errors as text)', () => {
    const { logger, raw } = capture();
    logger.error(`An API error occurred: could not reach ${CONNECTION_STRING} with xoxb-test-5678-Leaked`);
    expect(raw[0]).not.toContain(PASSWORD);
    expect(raw[0]).not.toContain('5678-Leaked');
  });
});

describe('scrubSecrets', () => {
  it('removes the password from a connection string and keeps the rest', () => {
    expect(scrubSecrets('postgresql://user:pw@host/db')).toBe('postgresql://user:***@host/db');
    expect(scrubSecrets('postgres://admin:s3cr%40t@db:5432/x?sslmode=require')).toBe('postgres://admin:***@db:5432/x?sslmode=require');
  });

  it('removes a password with no user name (redis style)', () => {
    expect(scrubSecrets('redis://:redis-pass@cache:6379/0')).toBe('redis://:***@cache:6379/0');
  });

  it('removes every password in a longer text', () => {
    const scrubbed = scrubSecrets('primary postgresql://a:pass-one@h1/db failed, then redis://:pass-two@h2:6379 too');
    expect(scrubbed).toBe('primary postgresql://a:***@h1/db failed, then redis://:***@h2:6379 too');
  });

  it('removes all of a password that contains a raw "@" (URL parsers take the last "@")', () => {
    // new URL('postgresql://user:p@ss@host/db').password === 'p%40ss', so such strings do reach the bot.
    const scrubbed = scrubSecrets('postgresql://user:p@ss-tail@host/db');
    expect(scrubbed).not.toContain('ss-tail');
    expect(scrubbed).toContain('host/db');
  });

  it('masks Slack tokens', () => {
    for (const token of ['xoxb-test-AbCdEfGh', 'xoxp-1-2-3', 'xoxa-2-xyz']) {
      const scrubbed = scrubSecrets(`token ${token} was rejected`);
      expect(scrubbed).not.toContain(token.slice(5));
      expect(scrubbed).toMatch(/^token \S+ was rejected$/);
    }
  });

  it('leaves text without credentials unchanged', () => {
    for (const text of ['postgresql://user@host/db', 'see https://api.slack.com/methods', 'user@example.com said: a:b', 'plain text']) {
      expect(scrubSecrets(text)).toBe(text);
    }
  });
});

describe('boltLogger', () => {
  it('drops the Web API client lines that echo message bodies, even at debug level', () => {
    const { logger, raw } = capture('debug');
    const bolt = boltLogger(logger);
    bolt.debug('http request body: {"channel":"DU0REQUESTER","blocks":"*Password:* `s3cret-temporary`"}');
    bolt.debug('http request result: {"ok":true,"message":{"text":"s3cret-temporary"}}');
    bolt.debug("apiCall('chat.postMessage') start");
    expect(raw).toHaveLength(1);
    expect(raw.join('\n')).not.toContain('s3cret-temporary');
  });
});
