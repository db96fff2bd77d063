import { createHash } from 'node:crypto';
import { AUDIT_EXPORT_COLUMNS, csvCell, exportAuditEvents, type AuditExportRow } from '../../src/audit/export';
import { parseExportQuery, parsePointInTime, parseRequestNumber, type AuditExportFilters, type AuditExportFormat } from '../../src/audit/export-query';
import { createPrisma, type Db } from '../../src/db/prisma';
import { truncateAll } from '../support/databases';
import { addEvent, createRequest, parseCsv, seal } from './audit-fixtures';

const NOW = new Date('2026-11-21T12:00:00.000Z');
const DAY = 86_400_000;

describe('export parameters', () => {
  it('reads since/until as "that long ago" or as ISO dates in UTC', () => {
    expect(parsePointInTime('30d', NOW)).toEqual(new Date(NOW.getTime() - 30 * DAY));
    expect(parsePointInTime('12h', NOW)).toEqual(new Date('2026-11-21T00:00:00.000Z'));
    expect(parsePointInTime('1d12h', NOW)).toEqual(new Date('2026-11-20T00:00:00.000Z'));
    expect(parsePointInTime('2026-11-01', NOW)).toEqual(new Date('2026-11-01T00:00:00.000Z'));
    expect(parsePointInTime('2026-11-01T08:30', NOW)).toEqual(new Date('2026-11-01T08:30:00.000Z'));
    expect(parsePointInTime('2026-11-01T08:30:15.5Z', NOW)).toEqual(new Date('2026-11-01T08:30:15.500Z'));
    expect(parsePointInTime('2026-11-01T08:30:00+02:00', NOW)).toEqual(new Date('2026-11-01T06:30:00.000Z'));
    expect(parsePointInTime('2026-11-01T08:30:00-0130', NOW)).toEqual(new Date('2026-11-01T10:00:00.000Z'));
  });

  it('refuses what is neither', () => {
    for (const text of ['', 'yesterday', '30', '30x', '0d', '2026-02-31', '2026-13-01', '2026-11-01T25:00', '11/01/2026', '2026-11-01T08:30:00+2']) {
      expect(parsePointInTime(text, NOW)).toBeNull();
    }
  });

  it('reads request ids with or without the BG- prefix', () => {
    expect(parseRequestNumber('BG-1042')).toBe(1042);
    expect(parseRequestNumber('bg-7')).toBe(7);
    expect(parseRequestNumber('1042')).toBe(1042);
    for (const text of ['BG-', 'BG-0', 'BG-12a', 'XX-12', '-3', '1e3']) expect(parseRequestNumber(text)).toBeNull();
  });

  it('validates the whole query with messages that say what to type', () => {
    expect(parseExportQuery({ since: '30d', until: '2026-11-20', request: 'BG-12', actor: ' U0ALICE ', format: 'CSV' }, NOW)).toEqual({
      ok: true,
      format: 'csv',
      filters: { since: new Date(NOW.getTime() - 30 * DAY), until: new Date('2026-11-20T00:00:00.000Z'), requestNumber: 12, actor: 'U0ALICE' },
    });
    expect(parseExportQuery({ since: '1d' }, NOW)).toMatchObject({ ok: true, format: 'json', filters: { until: null, requestNumber: null, actor: null } });
    expect(parseExportQuery({}, NOW)).toEqual({ ok: false, message: expect.stringMatching(/^since is required: .*30d/) });
    expect(parseExportQuery({ since: 'last week' }, NOW)).toEqual({ ok: false, message: expect.stringMatching(/^since "last week" is not a duration .* or an ISO date/) });
    expect(parseExportQuery({ since: '1d', until: 'soon' }, NOW)).toEqual({ ok: false, message: expect.stringMatching(/^until "soon" is not/) });
    expect(parseExportQuery({ since: '1d', until: '2d' }, NOW)).toEqual({ ok: false, message: expect.stringMatching(/^until \(.*\) must be after since/) });
    expect(parseExportQuery({ since: '1d', request: 'PROJ-1' }, NOW)).toEqual({ ok: false, message: expect.stringContaining('such as BG-1042') });
    expect(parseExportQuery({ since: '1d', format: 'xml' }, NOW)).toEqual({ ok: false, message: 'format "xml" is not one of csv, json' });
  });
});

describe('CSV cells', () => {
  it('quote per RFC 4180 only when needed', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(null)).toBe('');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rlf')).toBe('"cr\rlf"');
  });

  it('defuse text a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
    expect(csvCell('a=b')).toBe('a=b');
  });
});

describe('exportAuditEvents', () => {
  let db: Db;
  let first: { id: string; number: number };
  let second: { id: string; number: number };

  async function exported(filters: Partial<AuditExportFilters>, format: AuditExportFormat, batchSize = 2) {
    const chunks: string[] = [];
    const all = { since: new Date(NOW.getTime() - 365 * DAY), until: null, requestNumber: null, actor: null, ...filters };
    for await (const chunk of exportAuditEvents(db, all, format, { batchSize })) chunks.push(chunk);
    return { text: chunks.join(''), chunks };
  }

  const jsonRows = async (filters: Partial<AuditExportFilters>) =>
    (await exported(filters, 'json')).text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditExportRow);

  beforeAll(async () => {
    db = createPrisma(process.env.TEST_DATABASE_URL!);
    await truncateAll();
    first = await createRequest(db);
    // Another requester: one requester has one live request per resource and role.
    second = await createRequest(db, { requesterId: 'U0REQUESTER2' });
    const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY);
    await addEvent(db, { requestId: first.id, actor: 'U0ALICE', action: 'REQUESTED', details: { reason: 'disk full, "again"\nsecond line' }, createdAt: at(40) });
    await addEvent(db, { requestId: first.id, actor: 'U0BOB', action: 'APPROVAL_RECORDED', createdAt: at(20) });
    await addEvent(db, { requestId: second.id, actor: '=cmd|" /C calc"!A0', action: 'REQUESTED', details: { note: '@mention' }, createdAt: at(10) });
    await addEvent(db, { requestId: second.id, actor: 'system', action: 'GRANTED', createdAt: at(5) });
    await addEvent(db, { requestId: null, actor: 'system', action: 'REVOKE_ALERTED', createdAt: at(1) });
    await addEvent(db, { requestId: first.id, actor: 'system', action: 'EXPIRED', createdAt: new Date(at(1).getTime() + 1) });
    await seal(db);
  });

  afterAll(async () => {
    await db.$disconnect();
  });

  it('exports JSON Lines in chain order with every field, and an export is enough to re-check the chain', async () => {
    const rows = await jsonRows({});
    expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows[0]).toEqual({
      seq: 1,
      createdAt: '2026-10-12T12:00:00.000Z',
      request: `BG-${first.number}`,
      requestId: first.id,
      actor: 'U0ALICE',
      action: 'REQUESTED',
      details: '{"reason": "disk full, \\"again\\"\\nsecond line"}',
      prevHash: '0'.repeat(64),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(rows[4]).toMatchObject({ request: null, requestId: null, action: 'REVOKE_ALERTED' });
    let previous = '0'.repeat(64);
    for (const row of rows) {
      const fields = [row.prevHash, String(row.seq), row.requestId ?? '', row.actor, row.action, row.details, row.createdAt.replace(/Z$/, '')];
      expect(row.prevHash).toBe(previous);
      expect(createHash('sha256').update(fields.join('\n')).digest('hex')).toBe(row.hash);
      previous = row.hash!;
    }
  });

  it('streams a chunk per batch', async () => {
    const { chunks } = await exported({}, 'json', 2);
    expect(chunks.map((chunk) => chunk.split('\n').length - 1)).toEqual([2, 2, 2]);
    const csv = await exported({}, 'csv', 4);
    expect(csv.chunks).toHaveLength(2);
    expect(csv.chunks[0].startsWith('seq,createdAt,')).toBe(true);
  });

  it('filters by since, until, request and actor', async () => {
    const seqs = async (filters: Partial<AuditExportFilters>) => (await jsonRows(filters)).map((row) => row.seq);
    expect(await seqs({ since: new Date(NOW.getTime() - 30 * DAY) })).toEqual([2, 3, 4, 5, 6]);
    expect(await seqs({ since: new Date(NOW.getTime() - 30 * DAY), until: new Date(NOW.getTime() - 5 * DAY) })).toEqual([2, 3]);
    // since is inclusive, until exclusive, to the millisecond.
    expect(await seqs({ since: new Date(NOW.getTime() - 5 * DAY), until: new Date(NOW.getTime() - DAY + 1) })).toEqual([4, 5]);
    expect(await seqs({ requestNumber: first.number })).toEqual([1, 2, 6]);
    expect(await seqs({ requestNumber: first.number, since: new Date(NOW.getTime() - 30 * DAY) })).toEqual([2, 6]);
    expect(await seqs({ actor: 'system' })).toEqual([4, 5, 6]);
    expect(await seqs({ actor: 'system', requestNumber: second.number })).toEqual([4]);
    expect(await seqs({ requestNumber: 99_999 })).toEqual([]);
    expect(await seqs({ since: NOW })).toEqual([]);
  });

  it('exports CSV that reads back to the same rows, quoted per RFC 4180, with formulas defused', async () => {
    const { text } = await exported({}, 'csv');
    const [header, ...records] = parseCsv(text);
    expect(header).toEqual([...AUDIT_EXPORT_COLUMNS]);
    const rows = await jsonRows({});
    expect(records).toHaveLength(rows.length);
    records.forEach((record, index) => {
      const row = rows[index];
      const expected = AUDIT_EXPORT_COLUMNS.map((column) => (row[column] === null ? '' : String(row[column])));
      if (index === 2) expected[4] = `'${row.actor}`;
      expect(record).toEqual(expected);
    });
    expect(text).toContain(`,"'=cmd|"" /C calc""!A0",REQUESTED,`);
    expect(text).toContain('"{""reason"": ""disk full, \\""again\\""\\nsecond line""}"');
    expect(await exported({ since: NOW }, 'csv')).toEqual({ text: `${AUDIT_EXPORT_COLUMNS.join(',')}\r\n`, chunks: [`${AUDIT_EXPORT_COLUMNS.join(',')}\r\n`] });
    expect(await exported({ since: NOW }, 'json')).toEqual({ text: '', chunks: [] });
  });
});
