'use strict';
// What someone starting Breakglass needs when PostgreSQL or Redis cannot be reached: what was tried (user, host,
// port, database; never a password), why it failed, and the next step. Shared by scripts/migrate.mjs and the bot's
// start (src/app/preflight.ts); plain JavaScript, so both load it as it is, in a checkout and in the image.

/** The parts of a postgresql:// URL worth saying, without the password. */
function postgresTarget(url) {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  return {
    user: user || '(none given)',
    host: parsed.hostname || 'localhost',
    port: parsed.port || '5432',
    database: decodeURIComponent(parsed.pathname.slice(1)) || user || '(none given)',
  };
}

/** An SQL identifier as psql would need it. */
const ident = (name) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** The error code of a pg or socket error; AggregateError (every address of a host refused) carries it too. */
function codeOf(error) {
  return error?.code ?? error?.errors?.find((inner) => inner?.code)?.code ?? error?.cause?.code;
}

/** Passwords in URLs that a driver's message might repeat. */
const scrub = (text) => String(text).replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)\S*@/gi, '$1***@');

/**
 * @param {unknown} error what pg (or the socket under it) threw
 * @param {string} url the URL that was tried
 * @param {string} variable where the URL came from (DATABASE_URL or MIGRATION_DATABASE_URL)
 * @param {'owner' | 'bot'} role the tables' owner (migrations) or the bot's login, a member of breakglass_app
 * @returns {{ tried: string, why: string, next: string }}
 */
function explainPostgres(error, url, variable, role) {
  const t = postgresTarget(url);
  const tried = `connecting to PostgreSQL at ${t.host}:${t.port}, database "${t.database}", as user "${t.user}" (${variable})`;
  const admin = `psql -h ${t.host} -p ${t.port} -U postgres -d postgres -c`;
  const roles = 'docs/operations.md, "Database roles"';
  const message = scrub(error?.message ?? error);
  const code = codeOf(error);
  switch (code) {
    case '28P01':
      return {
        tried,
        why: `PostgreSQL refused the password of "${t.user}" (${code})`,
        next: `check the password in ${variable}, or set it as an administrator: ${admin} "ALTER ROLE ${ident(t.user)} PASSWORD '…'"`,
      };
    case '28000':
      if (/role .* does not exist/.test(message)) {
        const create = role === 'owner' ? `CREATE ROLE ${ident(t.user)} LOGIN PASSWORD '…'` : `CREATE ROLE ${ident(t.user)} LOGIN PASSWORD '…' IN ROLE breakglass_app`;
        return {
          tried,
          why: `the role "${t.user}" does not exist (${code})`,
          next: `create it as an administrator: ${admin} "${create}" (${roles}, creates the owner, breakglass_app and the bot's login)`,
        };
      }
      return {
        tried,
        why: `${message} (${code})`,
        next: `let this client in: a line for database ${t.database}, user ${t.user} and this machine's address in the server's pg_hba.conf, then reload PostgreSQL; or check the user in ${variable}`,
      };
    case '3D000':
      return {
        tried,
        why: `the database "${t.database}" does not exist (${code})`,
        next: `create it as an administrator: ${admin} "CREATE DATABASE ${ident(t.database)} OWNER ${role === 'owner' ? ident(t.user) : 'breakglass_owner'}" (${roles}), or correct the database name in ${variable}`,
      };
    case '42501':
      return { tried, why: `${message} (${code})`, next: `as an administrator: ${admin} "GRANT CONNECT ON DATABASE ${ident(t.database)} TO ${ident(t.user)}"` };
    case 'ECONNREFUSED':
      return {
        tried,
        why: `nothing accepts connections at ${t.host}:${t.port} (connection refused)`,
        next: `start PostgreSQL (\`docker compose --profile dev up -d postgres-dev\` runs one on 127.0.0.1:5432), or correct the host and port in ${variable}`,
      };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { tried, why: `the host name "${t.host}" does not resolve (${code})`, next: `correct the host in ${variable}, or check this machine's DNS` };
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return {
        tried,
        why: `no route to ${t.host}:${t.port} (${code})`,
        next: `check that ${t.host}:${t.port} is reachable from here (firewall, security group, VPN) and that PostgreSQL listens on that address (listen_addresses)`,
      };
    default:
      if (/timeout/i.test(message)) {
        return {
          tried,
          why: `no answer (${message})`,
          next: `check that ${t.host}:${t.port} is reachable from here (firewall, security group, VPN) and that PostgreSQL listens on that address (listen_addresses)`,
        };
      }
      if (/ssl|tls|certificate/i.test(message)) {
        return { tried, why: message, next: `set the TLS mode the server expects in ${variable}, e.g. ?sslmode=require (or sslmode=disable for a server without TLS)` };
      }
      return { tried, why: code ? `${message} (${code})` : message, next: `check ${variable} and the server (${roles})` };
  }
}

/**
 * @param {unknown} error what ioredis threw or emitted
 * @param {string} url REDIS_URL
 * @returns {{ tried: string, why: string, next: string }}
 */
function explainRedis(error, url) {
  const parsed = new URL(url);
  const host = parsed.hostname || 'localhost';
  const port = parsed.port || '6379';
  const db = parsed.pathname.length > 1 ? `, database ${parsed.pathname.slice(1)}` : '';
  const tried = `connecting to Redis at ${host}:${port}${db}${parsed.protocol === 'rediss:' ? ' over TLS' : ''} (REDIS_URL)`;
  const message = scrub(error?.message ?? error);
  const code = codeOf(error);
  if (code === 'ECONNREFUSED') {
    return {
      tried,
      why: `nothing accepts connections at ${host}:${port} (connection refused)`,
      next: 'start Redis (`redis-server`, or `docker compose --profile dev up -d redis-dev` on 127.0.0.1:6379), or correct the host and port in REDIS_URL',
    };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { tried, why: `the host name "${host}" does not resolve (${code})`, next: "correct the host in REDIS_URL, or check this machine's DNS" };
  if (/NOAUTH|WRONGPASS|invalid password|AUTH/i.test(message)) {
    return {
      tried,
      why: `Redis refused to authenticate (${message.split('\n')[0]})`,
      next: 'put the password in REDIS_URL: redis://:PASSWORD@HOST:6379 (redis://USER:PASSWORD@… for an ACL user)',
    };
  }
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout|timed out/i.test(message)) {
    return {
      tried,
      why: `no answer from ${host}:${port} (${code ?? message})`,
      next: `check that ${host}:${port} is reachable from here (firewall, security group) and that Redis listens on that address (bind)`,
    };
  }
  return { tried, why: code ? `${message} (${code})` : message, next: 'check REDIS_URL and the Redis server' };
}

/**
 * Connects once with pg and runs SELECT 1: resolves to null when that works, to the error otherwise.
 * @param {string} url
 * @param {number} [timeoutMs]
 */
async function probePostgres(url, timeoutMs = 10_000) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A server that drops the connection afterwards must not crash the process through an unhandled 'error' event.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => {});
  }
}

/** One line: what was tried, why it failed, what to do. */
const formatExplanation = ({ tried, why, next }) => `${tried} failed: ${why}. Next: ${next}.`;

module.exports = { explainPostgres, explainRedis, formatExplanation, postgresTarget, probePostgres };
