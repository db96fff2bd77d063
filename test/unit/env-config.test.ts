import { ConfigError, loadConfig } from '../../src/config/env';

const BOT_TOKEN = 'xoxb-test-1111-2222-SeCrEt';
const SIGNING_SECRET = '8f14e45fceea167a5a36dedd4bea2543';
const DATABASE_URL = 'postgresql://breakglass:db-pass-Xy9@db.internal:5432/breakglass';
const REDIS_URL = 'redis://:redis-pass-Qz4@cache.internal:6379/0';

/** A minimal valid environment: only the required variables. */
function validEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    DATABASE_URL,
    REDIS_URL,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** The ConfigError loadConfig throws for this environment. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig: valid environment', () => {
  it('parses the required variables and fills in defaults', () => {
    expect(loadConfig(validEnv())).toEqual({
      slackBotToken: BOT_TOKEN,
      slackSigningSecret: SIGNING_SECRET,
      slackAppToken: null,
      role: 'all',
      slackApiUrl: 'https://slack.com/api/',
      databaseUrl: DATABASE_URL,
      redisUrl: REDIS_URL,
      port: 3000,
      policyPath: './breakglass.yaml',
      logLevel: 'info',
      queueName: 'breakglass-expiry',
      reconcileEveryMs: 60_000,
      jobLockMs: 30_000,
      effectLivenessMs: 30_000,
      expiryConcurrency: 20,
      heapGrowingPercent: 30,
      slackFollowUpConcurrency: 4,
      driftCheckEveryMs: 900_000,
      providerChange: 'refuse',
      auditSealBoundMs: 5_000,
      auditHeadPublishEveryMs: 3_600_000,
      pagerDuty: { token: null, apiUrl: 'https://api.pagerduty.com' },
    });
  });

  it('reads PAGERDUTY_TOKEN and PAGERDUTY_API_URL (default the public API)', () => {
    expect(loadConfig(validEnv({ PAGERDUTY_TOKEN: 'u+AbC-123_xyz' })).pagerDuty).toEqual({ token: 'u+AbC-123_xyz', apiUrl: 'https://api.pagerduty.com' });
    expect(loadConfig(validEnv({ PAGERDUTY_API_URL: 'http://127.0.0.1:9999' })).pagerDuty?.apiUrl).toBe('http://127.0.0.1:9999');
    expect(() => loadConfig(validEnv({ PAGERDUTY_API_URL: 'api.pagerduty.com' }))).toThrow('PAGERDUTY_API_URL must be a URL starting with http:// or https://');
    const error = configError(validEnv({ PAGERDUTY_TOKEN: 'two words' }));
    expect(error.message).toBe('PAGERDUTY_TOKEN must be a PagerDuty REST API key: printable ASCII without spaces (it travels in an Authorization header)');
    expect(error.message).not.toContain('two words');
  });

  it('reads BREAKGLASS_PROVIDER_CHANGE: refuse by default, accept or revoke, nothing else', () => {
    expect(loadConfig(validEnv({ BREAKGLASS_PROVIDER_CHANGE: 'accept' })).providerChange).toBe('accept');
    expect(loadConfig(validEnv({ BREAKGLASS_PROVIDER_CHANGE: 'revoke' })).providerChange).toBe('revoke');
    expect(() => loadConfig(validEnv({ BREAKGLASS_PROVIDER_CHANGE: 'ignore' }))).toThrow('BREAKGLASS_PROVIDER_CHANGE must be refuse, accept or revoke');
  });

  it('takes the optional variables when given', () => {
    const config = loadConfig(validEnv({ PORT: '8080', BREAKGLASS_POLICY: '/etc/breakglass/policy.yaml', LOG_LEVEL: 'debug', SLACK_API_URL: 'https://slack.example/api/' }));
    expect(config.port).toBe(8080);
    expect(config.policyPath).toBe('/etc/breakglass/policy.yaml');
    expect(config.logLevel).toBe('debug');
    expect(config.slackApiUrl).toBe('https://slack.example/api/');
  });

  it('adds the trailing slash to SLACK_API_URL when missing', () => {
    expect(loadConfig(validEnv({ SLACK_API_URL: 'http://127.0.0.1:4010/api' })).slackApiUrl).toBe('http://127.0.0.1:4010/api/');
  });

  it('accepts both postgres:// and postgresql://, and both redis:// and rediss://', () => {
    expect(loadConfig(validEnv({ DATABASE_URL: 'postgres://u@h/db' })).databaseUrl).toBe('postgres://u@h/db');
    // The owner's URL is db:migrate's; the bot only checks it and keeps it out of its configuration.
    expect(JSON.stringify(loadConfig(validEnv({ MIGRATION_DATABASE_URL: 'postgresql://owner:owner-pass@h/db' })))).not.toContain('owner-pass');
    expect(loadConfig(validEnv({ REDIS_URL: 'rediss://h:6380' })).redisUrl).toBe('rediss://h:6380');
  });

  it('accepts the PORT boundaries 1 and 65535', () => {
    expect(loadConfig(validEnv({ PORT: '1' })).port).toBe(1);
    expect(loadConfig(validEnv({ PORT: '65535' })).port).toBe(65535);
  });

  it('treats empty optional variables as unset (defaults apply)', () => {
    const config = loadConfig(validEnv({ PORT: '', BREAKGLASS_POLICY: '', SLACK_API_URL: '', LOG_LEVEL: '' }));
    expect(config.port).toBe(3000);
    expect(config.policyPath).toBe('./breakglass.yaml');
    expect(config.slackApiUrl).toBe('https://slack.com/api/');
    expect(config.logLevel).toBe('info');
  });

  it('reads the environment it is given, not process.env', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig(validEnv()).port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

describe('loadConfig: missing required variables', () => {
  it.each(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DATABASE_URL', 'REDIS_URL'])('%s unset → ConfigError naming it', (name) => {
    const error = configError(validEnv({ [name]: undefined }));
    expect(error.name).toBe('ConfigError');
    expect(error.message.startsWith(`${name} `)).toBe(true);
    expect(error.message).toMatch(/is not set/);
    expect(error.message).not.toContain('\n');
  });

  it.each(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DATABASE_URL', 'REDIS_URL'])('%s set to "" counts as not set', (name) => {
    const error = configError(validEnv({ [name]: '' }));
    expect(error.message.startsWith(`${name} `)).toBe(true);
    expect(error.message).toMatch(/is not set/);
  });

  it('an empty environment names a missing variable in one line', () => {
    const error = configError({});
    expect(error.message).toMatch(/^(SLACK_BOT_TOKEN|SLACK_SIGNING_SECRET|DATABASE_URL|REDIS_URL) is not set/);
    expect(error.message).not.toContain('\n');
  });
});

describe('loadConfig: malformed values', () => {
  it.each([
    ['PORT', '70000', /^PORT must be 1-65535$/],
    ['PORT', '0', /^PORT must be 1-65535$/],
    ['PORT', '3000.5', /^PORT must be a whole number$/],
    ['DATABASE_URL', 'mysql://root@db/breakglass', /^DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\/$/],
    ['DATABASE_URL', 'db.internal:5432', /^DATABASE_URL must be a URL/],
    ['MIGRATION_DATABASE_URL', 'mysql://root@db/breakglass', /^MIGRATION_DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\/$/],
    ['REDIS_URL', 'not a url', /^REDIS_URL must be a URL starting with redis:\/\/ or rediss:\/\/$/],
    ['REDIS_URL', 'http://cache:6379', /^REDIS_URL must be a URL/],
    ['SLACK_BOT_TOKEN', 'xoxp-test-user', /^SLACK_BOT_TOKEN must be a bot token starting with xoxb-$/],
    ['SLACK_SIGNING_SECRET', 'short', /^SLACK_SIGNING_SECRET must be/],
    ['SLACK_API_URL', 'ftp://slack.example/api', /^SLACK_API_URL must be a URL starting with http:\/\/ or https:\/\/$/],
  ])('%s=%s gives one clear line', (name, value, expected) => {
    const error = configError(validEnv({ [name]: value }));
    expect(error.message).toMatch(expected);
    expect(error.message).not.toContain('\n');
  });

  it('PORT=abc says the port must be a number, in the same "NAME must be …" form as the other errors', () => {
    // zod's own wording ("Invalid input: expected number, received NaN") is not what an operator should read.
    const error = configError(validEnv({ PORT: 'abc' }));
    expect(error.message).toMatch(/^PORT must be /);
    expect(error.message).not.toContain('\n');
  });

  it('an invalid LOG_LEVEL names the variable', () => {
    const error = configError(validEnv({ LOG_LEVEL: 'verbose' }));
    expect(error.message.startsWith('LOG_LEVEL ')).toBe(true);
    expect(error.message).toContain('debug');
  });
});

describe('loadConfig: secrets never appear in the error', () => {
  it.each([
    ['DATABASE_URL', 'mysql://root:hunter2-db-pass@db.internal/breakglass', ['hunter2-db-pass', 'root:hunter2', 'mysql://root']],
    ['DATABASE_URL', 'postgresql//admin:hunter2-typo@db/x', ['hunter2-typo']],
    ['MIGRATION_DATABASE_URL', 'postgresql//owner:hunter2-owner@db/x', ['hunter2-owner']],
    ['REDIS_URL', 'memcache://:hunter2-redis@cache:6379', ['hunter2-redis']],
    ['SLACK_BOT_TOKEN', 'xoxp-hunter2', ['hunter2', 'xoxp-']],
    ['SLACK_SIGNING_SECRET', 'Zq7!xR', ['Zq7!xR']],
  ])('%s with a bad value keeps the value out of the message', (name, value, secrets) => {
    const error = configError(validEnv({ [name]: value }));
    expect(error.message.startsWith(`${name} `)).toBe(true);
    for (const secret of secrets) expect(error.message).not.toContain(secret);
  });

  it('an error about one variable does not echo the other (valid) secrets', () => {
    const error = configError(validEnv({ PORT: '70000' }));
    for (const secret of [BOT_TOKEN, SIGNING_SECRET, 'db-pass-Xy9', 'redis-pass-Qz4']) expect(error.message).not.toContain(secret);
  });
});

describe('loadConfig: queue settings', () => {
  it('reads the queue name and the reconcile and job-lock durations', () => {
    const config = loadConfig(validEnv({ BREAKGLASS_QUEUE: 'breakglass-staging', RECONCILE_EVERY: '15s', JOB_LOCK: '2m', EXPIRY_CONCURRENCY: '100' }));
    expect(config).toMatchObject({ queueName: 'breakglass-staging', reconcileEveryMs: 15_000, jobLockMs: 120_000, expiryConcurrency: 100 });
  });

  it('names the variable of a bad duration or queue name', () => {
    expect(configError(validEnv({ RECONCILE_EVERY: 'often' })).message).toBe('RECONCILE_EVERY must be a duration such as 30s, 5m or 1h');
    expect(configError(validEnv({ BREAKGLASS_QUEUE: 'bull:x' })).message).toBe('BREAKGLASS_QUEUE must be letters, digits, "-" or "_"');
    expect(configError(validEnv({ EXPIRY_CONCURRENCY: '0' })).message).toBe('EXPIRY_CONCURRENCY must be 1-500');
  });
});

describe('loadConfig: heap growth', () => {
  it('reads HEAP_GROWING_PERCENT (0 leaves V8 its own heuristics) and names it when it is bad', () => {
    expect(loadConfig(validEnv({ HEAP_GROWING_PERCENT: '0' })).heapGrowingPercent).toBe(0);
    expect(loadConfig(validEnv({ HEAP_GROWING_PERCENT: '100' })).heapGrowingPercent).toBe(100);
    expect(configError(validEnv({ HEAP_GROWING_PERCENT: '401' })).message).toBe("HEAP_GROWING_PERCENT must be 0-400 (0 = V8's own heap growth)");
    expect(configError(validEnv({ HEAP_GROWING_PERCENT: 'lots' })).message).toMatch(/^HEAP_GROWING_PERCENT must be a whole number/);
  });
});

describe('loadConfig: drift check', () => {
  it('reads DRIFT_CHECK_EVERY as a duration; 0 and off turn the drift check off', () => {
    expect(loadConfig(validEnv({ DRIFT_CHECK_EVERY: '1h' })).driftCheckEveryMs).toBe(3_600_000);
    for (const off of ['0', 'off', 'OFF']) expect(loadConfig(validEnv({ DRIFT_CHECK_EVERY: off })).driftCheckEveryMs).toBeNull();
  });

  it('names the variable of a bad value', () => {
    expect(configError(validEnv({ DRIFT_CHECK_EVERY: 'hourly' })).message).toBe('DRIFT_CHECK_EVERY must be a duration such as 15m or 1h, or 0 / off to disable it');
  });
});

describe('loadConfig: audit sealing and published heads', () => {
  it('defaults to a 5 s seal bound and an hourly head, reads durations, and off publishes only at shutdown', () => {
    expect(loadConfig(validEnv())).toMatchObject({ auditSealBoundMs: 5_000, auditHeadPublishEveryMs: 3_600_000 });
    expect(loadConfig(validEnv({ AUDIT_SEAL_BOUND: '2s', AUDIT_HEAD_PUBLISH_EVERY: '15m' }))).toMatchObject({ auditSealBoundMs: 2_000, auditHeadPublishEveryMs: 900_000 });
    expect(loadConfig(validEnv({ AUDIT_HEAD_PUBLISH_EVERY: 'off' })).auditHeadPublishEveryMs).toBeNull();
  });

  it('names the variable of a bad value', () => {
    expect(configError(validEnv({ AUDIT_SEAL_BOUND: 'soon' })).message).toBe('AUDIT_SEAL_BOUND must be a duration such as 30s, 5m or 1h');
    expect(configError(validEnv({ AUDIT_SEAL_BOUND: '2h' })).message).toBe('AUDIT_SEAL_BOUND must be between 1s and 1h');
    expect(configError(validEnv({ AUDIT_HEAD_PUBLISH_EVERY: '10s' })).message).toBe('AUDIT_HEAD_PUBLISH_EVERY must be between 1m and 24h, or 0 / off');
  });
});

describe('loadConfig: Slack follow-up concurrency', () => {
  it('reads SLACK_FOLLOW_UP_CONCURRENCY', () => {
    expect(loadConfig(validEnv({ SLACK_FOLLOW_UP_CONCURRENCY: '8' })).slackFollowUpConcurrency).toBe(8);
  });

  it.each(['0', '101', '2.5', 'many'])('refuses SLACK_FOLLOW_UP_CONCURRENCY=%s, naming the range', (value) => {
    expect(configError(validEnv({ SLACK_FOLLOW_UP_CONCURRENCY: value })).message).toMatch(/^SLACK_FOLLOW_UP_CONCURRENCY must be (a whole number \()?1-100\)?$/);
  });
});

describe('loadConfig: process role', () => {
  it('runs everything unless told otherwise', () => {
    expect(loadConfig(validEnv()).role).toBe('all');
  });

  it('takes the role from BREAKGLASS_ROLE, and from --role (either form) over it', () => {
    expect(loadConfig(validEnv({ BREAKGLASS_ROLE: 'worker' })).role).toBe('worker');
    expect(loadConfig(validEnv({ BREAKGLASS_ROLE: 'worker' }), ['--role=web']).role).toBe('web');
    expect(loadConfig(validEnv(), ['--role', 'worker']).role).toBe('worker');
  });

  it('refuses an unknown role or argument in one line', () => {
    expect(configError(validEnv({ BREAKGLASS_ROLE: 'cron' })).message).toBe('BREAKGLASS_ROLE must be web, worker or all');
    expect(() => loadConfig(validEnv(), ['--role=cron'])).toThrow('--role must be web, worker or all');
    expect(() => loadConfig(validEnv(), ['--port=80'])).toThrow(/^unknown argument "--port=80"/);
  });

  it('a worker needs no signing secret (it takes no Slack requests) and keeps none', () => {
    const config = loadConfig(validEnv({ SLACK_SIGNING_SECRET: undefined }), ['--role=worker']);
    expect(config).toMatchObject({ role: 'worker', slackSigningSecret: null, slackAppToken: null });
    expect(loadConfig(validEnv(), ['--role=worker']).slackSigningSecret).toBeNull();
  });

  it.each(['web', 'all'])('the %s role without a signing secret or an app token says what it needs', (role) => {
    const error = configError(validEnv({ SLACK_SIGNING_SECRET: undefined, BREAKGLASS_ROLE: role }));
    expect(error.message).toBe(`SLACK_SIGNING_SECRET is not set (see .env.example); the ${role} role needs it, or SLACK_APP_TOKEN for Socket Mode`);
  });

  it('a worker still needs the bot token, the database and Redis', () => {
    for (const name of ['SLACK_BOT_TOKEN', 'DATABASE_URL', 'REDIS_URL']) {
      expect(configError(validEnv({ [name]: undefined, BREAKGLASS_ROLE: 'worker' })).message).toMatch(new RegExp(`^${name} is not set`));
    }
  });
});

describe('loadConfig: Socket Mode', () => {
  const APP_TOKEN = 'xapp-1-A0TEST-1234-SeCrEtApP';

  it('SLACK_APP_TOKEN switches to Socket Mode, where no signing secret is needed', () => {
    const config = loadConfig(validEnv({ SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: undefined }));
    expect(config).toMatchObject({ slackAppToken: APP_TOKEN, slackSigningSecret: null, role: 'all' });
  });

  it('a worker ignores the app token: it opens no Slack connection', () => {
    expect(loadConfig(validEnv({ SLACK_APP_TOKEN: APP_TOKEN }), ['--role=worker']).slackAppToken).toBeNull();
  });

  it('refuses a token that is not an app-level one, without echoing it', () => {
    const error = configError(validEnv({ SLACK_APP_TOKEN: 'xoxb-test-hunter2' }));
    expect(error.message).toMatch(/^SLACK_APP_TOKEN must be an app-level token starting with xapp-/);
    expect(error.message).not.toContain('hunter2');
  });
});
