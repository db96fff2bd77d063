import type { Db } from '../db/prisma';
import { humanRequestId } from '../domain/request-view';

/** The prevHash of the first event (see the operator_experience migration). */
export const GENESIS_HASH = '0'.repeat(64);

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
  | 'known-head-mismatch';

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
}

export interface VerifyOptions {
  /** Rows read per query. */
  batchSize?: number;
  /** Problems listed in the result; the rest are only counted. */
  maxProblems?: number;
  /** A head recorded earlier (e.g. from a previous run's output): catches a rewrite of the whole chain. */
  knownHead?: { seq: number; hash: string };
}

interface ChainRow {
  id: string;
  seq: string;
  prevHash: string | null;
  hash: string | null;
  recomputed: string | null;
  requestNumber: number | null;
}

/**
 * Walks the audit chain in seq order, a batch at a time (keyset pagination on the unique seq index), recomputing
 * each row's hash with the same SQL function the insert trigger uses. Checks: seq starts at 1 without gaps, each
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

  const knownHead = options.knownHead;
  let knownHeadSeen = false;
  let eventsChecked = 0;
  let previous: { seq: number; hash: string | null; eventId: string; request: string | null } | null = null;
  let after = 0;
  for (;;) {
    const rows: ChainRow[] = await db.$queryRaw<ChainRow[]>`
      SELECT e.id::text AS id, e.seq::text AS seq, e."prevHash", e.hash, r.number AS "requestNumber",
             audit_event_hash(e."prevHash", e.seq, e."requestId", e.actor, e.action, e.details, e."createdAt") AS recomputed
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
      } else if (row.recomputed !== row.hash) {
        report({ kind: 'edited', ...at, message: `seq ${seq} (${where(at)}) was edited: its content no longer matches its hash` });
      }
      if (knownHead && seq === knownHead.seq) {
        knownHeadSeen = true;
        if (row.hash !== knownHead.hash) {
          report({
            kind: 'known-head-mismatch',
            ...at,
            message: `seq ${seq} (${where(at)}) no longer has the recorded hash ${knownHead.hash}: the chain was rewritten up to here`,
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

  if (knownHead && !knownHeadSeen) {
    report({ kind: 'known-head-mismatch', seq: knownHead.seq, eventId: null, request: null, message: `the recorded head seq ${knownHead.seq} is no longer in the chain` });
  }

  await reportUnchainedRows(db, batchSize, report);
  return { ok: problemCount === 0, eventsChecked, head, problems, problemCount };
}

/** Rows with no seq never appear in the walk: find them by id (the seq index also holds the nulls). */
async function reportUnchainedRows(db: Db, batchSize: number, report: (problem: AuditProblem) => void): Promise<void> {
  let afterId = '0';
  for (;;) {
    const rows = await db.$queryRaw<Array<{ id: string; requestNumber: number | null }>>`
      SELECT e.id::text AS id, r.number AS "requestNumber"
      FROM "AuditEvent" e LEFT JOIN "AccessRequest" r ON r.id = e."requestId"
      WHERE e.seq IS NULL AND e.id > ${afterId}::bigint
      ORDER BY e.id
      LIMIT ${batchSize}`;
    for (const row of rows) {
      const request = row.requestNumber === null ? null : humanRequestId(row.requestNumber);
      report({
        kind: 'unchained',
        seq: null,
        eventId: row.id,
        request,
        message: `event id ${row.id}${request ? ` (${request})` : ''} is not in the chain (no seq, no hash): inserted around the chain trigger`,
      });
    }
    if (rows.length < batchSize) return;
    afterId = rows[rows.length - 1].id;
  }
}

function describeRange(from: number, to: number): string {
  return from === to ? `event seq ${from} is` : `${to - from + 1} events (seq ${from}–${to}) are`;
}

function where(at: { eventId: string; request: string | null }): string {
  return at.request ? `event id ${at.eventId}, ${at.request}` : `event id ${at.eventId}`;
}
