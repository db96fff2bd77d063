import type { Db } from '../db/prisma';
import { humanRequestId } from '../domain/request-view';
import { auditEventHash, GENESIS_HASH } from './hash';

export { GENESIS_HASH };

/** How long an event may wait for the sealer before verify counts it as a problem (AUDIT_SEAL_BOUND's default). */
export const DEFAULT_SEAL_BOUND_MS = 5_000;

export type AuditProblemKind =
  /** The stored hash is not the hash of the row's content: the row was changed after it was written. */
  | 'edited'
  /** The row's prevHash is not the previous row's hash: the previous row was replaced (content and hash rewritten). */
  | 'broken-link'
  /** Sequence numbers are missing in the middle (or at the start) of the chain: rows were deleted. */
  | 'missing-events'
  /** The head says the chain is longer than the rows that exist: the last rows were deleted. */
  | 'chain-end-removed'
  /** The head does not match the last row (or is missing while rows exist). */
  | 'head-mismatch'
  /** A row without seq or hash: inserted behind the trigger's back, or its chain fields were cleared. */
  | 'unchained'
  /** The event at a head recorded earlier (kept outside the database) no longer has that hash, or is gone. */
  | 'known-head-mismatch'
  /** A row still waiting for the sealer (no seq, no hash) longer than the seal bound: the sealer is not running, or
   * the row was inserted with the sealing switched off. Younger ones are only counted as pending. */
  | 'unsealed';

export interface AuditProblem {
  kind: AuditProblemKind;
  /** Position in the chain where the problem is seen (null for rows that have none). */
  seq: number | null;
  /** AuditEvent id of the row concerned, when there is one (the missing ones have none). */
  eventId: string | null;
  /** BG-number of the request the row belongs to, when there is one. */
  request: string | null;
  /** One line for people: what is wrong and where. */
  message: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Chained rows read (seq 1 … the head when verify started). */
  eventsChecked: number;
  /** The head as verify found it when it started; events added later are not checked by this run. */
  head: { seq: number; hash: string } | null;
  /** At most `maxProblems` of them, in chain order (unchained rows last). */
  problems: AuditProblem[];
  /** All problems found, also those not listed. */
  problemCount: number;
  /** Events not sealed yet but younger than the seal bound: not a problem, checked by a later run. */
  pending: number;
}

export interface VerifyOptions {
  /** Rows read per query. */
  batchSize?: number;
  /** Problems listed in the result; the rest are only counted. */
  maxProblems?: number;
  /** A head recorded earlier (e.g. from a previous run's output): catches a rewrite of the whole chain. */
  knownHead?: KnownHead;
  /** Several heads recorded earlier (e.g. every head the sealer published); each is checked like knownHead. */
  knownHeads?: readonly KnownHead[];
  /** An event unsealed for longer than this (by its createdAt) is a problem ('unsealed'); default DEFAULT_SEAL_BOUND_MS. */
  sealBoundMs?: number;
}

export interface KnownHead {
  seq: number;
  hash: string;
}

/** One row as the export writes it (texts produced by PostgreSQL's own casts, no function of ours). */
interface ChainRow {
  id: string;
  seq: string;
  createdAt: string;
  requestId: string | null;
  actor: string;
  action: string;
  details: string;
  prevHash: string | null;
  hash: string | null;
  requestNumber: number | null;
}

/**
 * Walks the audit chain in seq order, a batch at a time (keyset pagination on the unique seq index), recomputing
 * each row's hash in Node (auditEventHash) from the row's exported text: no function stored in the database is called,
 * so replacing audit_event_hash() cannot make an edited row pass. Checks: seq starts at 1 without gaps, each
 * hash matches its row, each prevHash is the previous row's hash, and the head row matches the last row.
 *
 * The chain is checked up to the head as it was read at the start, so events committed meanwhile neither
 * disturb nor prolong the run (an event and the head move in the same transaction).
 */
export async function verifyAuditChain(db: Db, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const batchSize = options.batchSize ?? 5_000;
  const maxProblems = options.maxProblems ?? 50;
  const problems: AuditProblem[] = [];
  let problemCount = 0;
  const report = (problem: AuditProblem) => {
    problemCount += 1;
    if (problems.length < maxProblems) problems.push(problem);
  };

  const heads = await db.$queryRaw<Array<{ seq: string; hash: string }>>`SELECT seq::text AS seq, hash FROM "AuditChainHead" WHERE id = 1`;
  const head = heads[0] ? { seq: Number(heads[0].seq), hash: heads[0].hash } : null;
  // Without a head, read every chained row (and say the head is missing below).
  const upTo = head?.seq ?? Number.MAX_SAFE_INTEGER;

  const knownHeads = new Map<number, string>();
  for (const known of [...(options.knownHead ? [options.knownHead] : []), ...(options.knownHeads ?? [])]) knownHeads.set(known.seq, known.hash.toLowerCase());
  const knownHeadsSeen = new Set<number>();
  let eventsChecked = 0;
  let previous: { seq: number; hash: string | null; eventId: string; request: string | null } | null = null;
  let after = 0;
  for (;;) {
    const rows: ChainRow[] = await db.$queryRaw<ChainRow[]>`
      SELECT e.id::text AS id, e.seq::text AS seq, to_char(e."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", e."requestId"::text AS "requestId",
             e.actor, e.action, e.details::text AS details, e."prevHash", e.hash, r.number AS "requestNumber"
      FROM "AuditEvent" e LEFT JOIN "AccessRequest" r ON r.id = e."requestId"
      WHERE e.seq > ${after} AND e.seq <= ${upTo}
      ORDER BY e.seq
      LIMIT ${batchSize}`;
    for (const row of rows) {
      const seq = Number(row.seq);
      const request = row.requestNumber === null ? null : humanRequestId(row.requestNumber);
      const at = { seq, eventId: row.id, request };
      const expectedSeq: number = (previous?.seq ?? 0) + 1;
      if (seq !== expectedSeq) {
        // The link check would only repeat this: the row the prevHash points at is gone.
        const between = previous ? `between seq ${previous.seq} and ${seq}` : `before seq ${seq} (the start of the chain)`;
        report({ kind: 'missing-events', ...at, message: `${describeRange(expectedSeq, seq - 1)} missing ${between}: deleted` });
      } else if (previous === null && row.prevHash !== GENESIS_HASH) {
        report({ kind: 'broken-link', ...at, message: `seq 1 (${where(at)}) does not start the chain: its prevHash is not the genesis hash` });
      } else if (previous !== null && row.prevHash !== previous.hash) {
        report({
          kind: 'broken-link',
          ...at,
          message: `seq ${seq} (${where(at)}) does not link to seq ${previous.seq}: seq ${previous.seq} was replaced (content and hash rewritten), or this row's prevHash was changed`,
        });
      }
      if (row.hash === null || row.prevHash === null) {
        report({ kind: 'unchained', ...at, message: `seq ${seq} (${where(at)}) has no ${row.hash === null ? 'hash' : 'prevHash'}: its chain fields were cleared` });
      } else if (auditEventHash({ ...row, prevHash: row.prevHash }) !== row.hash) {
        report({ kind: 'edited', ...at, message: `seq ${seq} (${where(at)}) was edited: its content no longer matches its hash` });
      }
      const knownHash = knownHeads.get(seq);
      if (knownHash !== undefined) {
        knownHeadsSeen.add(seq);
        if (row.hash !== knownHash) {
          report({
            kind: 'known-head-mismatch',
            ...at,
            message: `seq ${seq} (${where(at)}) no longer has the recorded hash ${knownHash}: the chain was rewritten up to here`,
          });
        }
      }
      previous = { seq, hash: row.hash, eventId: row.id, request };
      eventsChecked += 1;
    }
    if (rows.length < batchSize) break;
    after = Number(rows[rows.length - 1].seq);
  }

  const lastSeq = previous?.seq ?? 0;
  if (head === null) {
    if (previous !== null) report({ kind: 'head-mismatch', seq: null, eventId: null, request: null, message: 'the chain head (AuditChainHead) is missing while events exist' });
  } else if (lastSeq < head.seq) {
    const last = previous ? `after seq ${previous.seq}` : 'and no event is left';
    report({
      kind: 'chain-end-removed',
      seq: head.seq,
      eventId: null,
      request: null,
      message: `the end of the chain was removed: ${describeRange(lastSeq + 1, head.seq)} missing ${last} (the head says the chain ends at seq ${head.seq})`,
    });
  } else if (previous !== null && previous.hash !== head.hash) {
    report({
      kind: 'head-mismatch',
      seq: previous.seq,
      eventId: previous.eventId,
      request: previous.request,
      message: `the chain head does not match the last event, seq ${previous.seq} (${where(previous)}): the last event or the head was rewritten`,
    });
  }

  for (const [seq] of knownHeads) {
    if (knownHeadsSeen.has(seq)) continue;
    report({ kind: 'known-head-mismatch', seq, eventId: null, request: null, message: `the recorded head seq ${seq} is no longer in the chain` });
  }

  const pending = await reportUnsealedRows(db, batchSize, options.sealBoundMs ?? DEFAULT_SEAL_BOUND_MS, report);
  return { ok: problemCount === 0, eventsChecked, head, problems, problemCount, pending };
}

/** Rows with no seq never appear in the walk: find them by id (a partial index holds exactly them). Those waiting
 * longer than the bound are problems, the others pending. Age is measured on the database's clock. */
async function reportUnsealedRows(db: Db, batchSize: number, boundMs: number, report: (problem: AuditProblem) => void): Promise<number> {
  let afterId = '0';
  let pending = 0;
  for (;;) {
    const rows = await db.$queryRaw<Array<{ id: string; requestNumber: number | null; ageMs: number }>>`
      SELECT e.id::text AS id, r.number AS "requestNumber",
             (extract(epoch FROM (now() AT TIME ZONE 'UTC') - e."createdAt") * 1000)::float8 AS "ageMs"
      FROM "AuditEvent" e LEFT JOIN "AccessRequest" r ON r.id = e."requestId"
      WHERE e.seq IS NULL AND e.id > ${afterId}::bigint
      ORDER BY e.id
      LIMIT ${batchSize}`;
    for (const row of rows) {
      if (row.ageMs <= boundMs) {
        pending += 1;
        continue;
      }
      const request = row.requestNumber === null ? null : humanRequestId(row.requestNumber);
      report({
        kind: 'unsealed',
        seq: null,
        eventId: row.id,
        request,
        message: `event id ${row.id}${request ? ` (${request})` : ''} has waited ${formatAge(row.ageMs)} to be sealed (no seq, no hash), longer than the bound of ${formatAge(boundMs)}: no sealer is running, or it fails`,
      });
    }
    if (rows.length < batchSize) return pending;
    afterId = rows[rows.length - 1].id;
  }
}

function formatAge(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

function describeRange(from: number, to: number): string {
  return from === to ? `event seq ${from} is` : `${to - from + 1} events (seq ${from}–${to}) are`;
}

function where(at: { eventId: string; request: string | null }): string {
  return at.request ? `event id ${at.eventId}, ${at.request}` : `event id ${at.eventId}`;
}
