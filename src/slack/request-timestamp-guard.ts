import type { RequestHandler } from 'express';

const MAX_SKEW_SECONDS = 5 * 60;

/** Bolt rejects requests older than five minutes but not ones dated in the future; a captured request with a
 * forged future timestamp could otherwise be replayed for as long as that timestamp stays "fresh". */
export function rejectFutureTimestamps(now: () => number = Date.now): RequestHandler {
  return (req, res, next) => {
    const header = req.headers['x-slack-request-timestamp'];
    const timestamp = Number(Array.isArray(header) ? header[0] : header);
    if (Number.isFinite(timestamp) && timestamp > now() / 1000 + MAX_SKEW_SECONDS) {
      res.status(401).send('request timestamp is in the future');
      return;
    }
    next();
  };
}
