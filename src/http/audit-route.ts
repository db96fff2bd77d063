import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { AUDIT_EXPORT_CONTENT_TYPES, exportAuditEvents } from '../audit/export';
import { parseExportQuery, type AuditExportInput } from '../audit/export-query';
import type { Db } from '../db/prisma';

const QUERY_PARAMETERS = ['since', 'until', 'request', 'actor', 'format'] as const;
const REALM = 'Bearer realm="breakglass-audit"';

/**
 * `GET /audit?since=30d&format=csv|json[&until=…][&request=BG-12][&actor=U123]`: the audit export over HTTP, behind
 * `Authorization: Bearer <AUDIT_API_TOKEN>`. Without a configured token the endpoint does not exist (404), so a
 * deployment that never set one exposes nothing.
 */
export function auditRoute(db: Db, token: string | undefined, logger: Logger): Router {
  const router = express.Router();
  router.get('/', async (req, res, next) => {
    if (!token) return next();
    const presented = bearerToken(req);
    if (presented === null) return unauthorized(res, `${REALM}`, 'Send the audit token as "Authorization: Bearer <AUDIT_API_TOKEN>".');
    if (!sameSecret(presented, token)) return unauthorized(res, `${REALM}, error="invalid_token"`, 'The audit token is not valid.');

    const input = queryInput(req);
    if (!input.ok) return badRequest(res, input.message);
    const parsed = parseExportQuery(input.value);
    if (!parsed.ok) return badRequest(res, parsed.message);

    const chunks = exportAuditEvents(db, parsed.filters, parsed.format);
    let first: IteratorResult<string>;
    try {
      first = await chunks.next();
    } catch (err) {
      logger.error({ err }, 'audit export failed');
      return void res.status(500).type('text/plain').send('The audit export failed (it is logged). Try again in a moment.\n');
    }
    res.status(200);
    res.setHeader('Content-Type', AUDIT_EXPORT_CONTENT_TYPES[parsed.format]);
    res.setHeader('Content-Disposition', `attachment; filename="breakglass-audit-${new Date().toISOString().slice(0, 10)}.${parsed.format === 'csv' ? 'csv' : 'jsonl'}"`);
    res.setHeader('Cache-Control', 'no-store');
    try {
      for (let chunk = first; !chunk.done; chunk = await chunks.next()) {
        if (res.destroyed) return void (await chunks.return(undefined));
        if (!res.write(chunk.value)) await drainedOrClosed(res);
      }
      res.end();
    } catch (err) {
      // Headers are gone: cut the connection so the client sees an incomplete download, not a short valid one.
      logger.error({ err }, 'audit export failed mid-stream');
      res.destroy();
    }
  });
  return router;
}

/** Back-pressure: wait until the client took what was written, or went away. */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function bearerToken(req: Request): string | null {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  return match ? match[1] : null;
}

/** Constant time whatever the lengths: compares fixed-size digests. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

function unauthorized(res: Response, challenge: string, message: string): void {
  res.status(401).setHeader('WWW-Authenticate', challenge);
  res.type('text/plain').send(`${message}\n`);
}

function badRequest(res: Response, message: string): void {
  res.status(400).type('text/plain').send(`${message}\nExample: GET /audit?since=30d&format=csv (also until=2026-11-01, request=BG-1042, actor=U123ABC)\n`);
}

function queryInput(req: Request): { ok: true; value: AuditExportInput } | { ok: false; message: string } {
  const value: AuditExportInput = {};
  for (const [name, raw] of Object.entries(req.query)) {
    if (!(QUERY_PARAMETERS as readonly string[]).includes(name)) {
      return { ok: false, message: `unknown parameter "${name}": use ${QUERY_PARAMETERS.join(', ')}` };
    }
    if (typeof raw !== 'string') return { ok: false, message: `give ${name} once` };
    value[name as (typeof QUERY_PARAMETERS)[number]] = raw;
  }
  return { ok: true, value };
}
