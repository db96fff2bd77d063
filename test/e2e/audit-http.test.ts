import { randomBytes } from 'node:crypto';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { verifyAuditChain } from '../../src/audit/verify';
import { parseCsv } from '../audit/audit-fixtures';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1 } from './policy-fixture';

/** GET /audit over real HTTP on the running bot (the same server as /slack/events). */
describe('GET /audit', () => {
  // One target per bot: role names are unique to a TargetDatabase.
  const targets: TargetDatabase[] = [];
  const newTarget = () => {
    const target = new TargetDatabase();
    targets.push(target);
    return target;
  };
  let harness: BotHarness | undefined;

  const get = (query: string, authorization?: string) => fetch(`http://127.0.0.1:${harness!.port}/audit${query}`, { headers: authorization ? { authorization } : {} });

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  afterAll(async () => {
    for (const target of targets) await target.dropAll();
  });

  it('does not exist without AUDIT_API_TOKEN', async () => {
    ({ harness } = await startE2eBot(newTarget()));
    for (const authorization of [undefined, 'Bearer anything-at-all']) {
      const response = await get('?since=30d&format=csv', authorization);
      expect(response.status).toBe(404);
      expect(response.headers.get('www-authenticate')).toBeNull();
    }
  });

  it('exports the real flow’s events behind the bearer token, and refuses bad tokens and bad parameters', async () => {
    const token = randomBytes(32).toString('hex');
    ({ harness } = await startE2eBot(newTarget(), undefined, { harness: { auditApiToken: token, captureLogs: true } }));
    const bearer = `Bearer ${token}`;

    const { request: first } = await requestAccess(harness, 'payments-db read 30m INC-1 first request');
    await harness.click(ActionIds.approve, APPROVER1, first);
    await statusBecomes(harness, first.id, 'ACTIVE');
    const { request: second } = await requestAccess(harness, 'payments-db write 30m INC-2 second request');
    const firstActions = await harness.auditActions(first.id);
    expect(firstActions).toEqual(expect.arrayContaining(['REQUESTED', 'APPROVAL_RECORDED', 'GRANTED']));
    // The export holds sealed events only; the bot's sealer seals them within moments of the commit.
    await waitFor(async () => (await harness!.db.auditEvent.count({ where: { seq: null } })) === 0, 'the sealer to seal the flow’s events');

    // Missing, wrong or non-bearer credentials.
    const missing = await get('?since=1d');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="breakglass-audit"');
    for (const authorization of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, 'Bearer x', `Basic ${Buffer.from(`audit:${token}`).toString('base64')}`, token]) {
      const refused = await get('?since=1d', authorization);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="breakglass-audit"/);
      expect(await refused.text()).not.toContain(token);
    }
    expect((await get('?since=1d', `Bearer ${token}x`)).headers.get('www-authenticate')).toBe('Bearer realm="breakglass-audit", error="invalid_token"');

    // CSV for one request.
    const csv = await get(`?since=1h&format=csv&request=BG-${first.number}`, bearer);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="breakglass-audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(csv.headers.get('cache-control')).toBe('no-store');
    const [header, ...records] = parseCsv(await csv.text());
    expect(header.slice(0, 6)).toEqual(['seq', 'createdAt', 'request', 'requestId', 'actor', 'action']);
    expect(records.map((record) => record[5])).toEqual(firstActions);
    expect(new Set(records.map((record) => `${record[2]} ${record[3]}`))).toEqual(new Set([`BG-${first.number} ${first.id}`]));

    // JSON Lines for everything: both requests, in chain order, the same chain verify accepts.
    const json = await get('?since=1h&format=json', bearer);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const rows = (await json.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((row) => row.seq)).toEqual(rows.map((_, index) => index + 1));
    expect(new Set(rows.map((row) => row.request))).toEqual(new Set([`BG-${first.number}`, `BG-${second.number}`]));
    const verified = await verifyAuditChain(harness.db);
    expect(verified).toMatchObject({ ok: true, eventsChecked: rows.length });
    expect(verified.head?.hash).toBe(rows[rows.length - 1].hash);

    // until in the past, and an actor filter.
    expect(await (await get('?since=1h&until=30m&format=json', bearer)).text()).toBe('');
    const byApprover = (await (await get(`?since=1h&actor=${APPROVER1}`, bearer)).text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(byApprover.map((row) => [row.actor, row.action, row.request])).toEqual([
      [APPROVER1, 'APPROVAL_RECORDED', `BG-${first.number}`],
      [APPROVER1, 'QUORUM_REACHED', `BG-${first.number}`],
    ]);

    // Bad parameters: 400 with a message that says what to send.
    const bad = async (query: string) => {
      const response = await get(query, bearer);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      return response.text();
    };
    expect(await bad('?since=yesterday')).toMatch(/^since "yesterday" is not a duration .*\nExample: GET \/audit\?since=30d&format=csv/);
    expect(await bad('')).toMatch(/^since is required/);
    expect(await bad('?since=1d&until=2d')).toMatch(/^until .* must be after since/);
    expect(await bad('?since=1d&format=xml')).toMatch(/^format "xml" is not one of csv, json/);
    expect(await bad('?since=1d&request=INC-1')).toMatch(/^request "INC-1" is not a request id such as BG-1042/);
    expect(await bad('?since=1d&sinse=2d')).toMatch(/^unknown parameter "sinse"/);
    expect(await bad('?since=1d&since=2d')).toMatch(/^give since once/);

    // Other routes are unaffected, and the token never reached a log line.
    expect((await fetch(`http://127.0.0.1:${harness.port}/audit/other`, { headers: { authorization: bearer } })).status).toBe(404);
    expect(harness.logs.length).toBeGreaterThan(0);
    expect(harness.logs.join('\n')).not.toContain(token);
  });
});
