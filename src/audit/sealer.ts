import type { Logger } from 'pino';
import type { Db } from '../db/prisma';
import { writeEffects, type NewEffect } from '../effects/outbox';

/** Events sealed per call of audit_seal (one transaction); a bigger backlog is sealed in consecutive calls. */
export const SEAL_BATCH = 5_000;
/** How often each process seals when nothing wakes it. */
export const SEAL_EVERY_MS = 250;
/** The least time between two seals of one process, however often commits wake it. */
const SEAL_MIN_GAP_MS = 25;
/** At most one "events wait to be sealed" alert per this long, across processes. */
const LATE_ALERT_EVERY_MS = 15 * 60_000;

export interface SealResult {
  sealed: number;
  /** Another process was sealing at that moment (it holds the head's lock); nothing was done. */
  busy: boolean;
  head: { seq: number; hash: string } | null;
}

/**
 * Seals up to `maxRows` events: gives the committed, unsealed events seq, prevHash and hash in id order and moves
 * the chain head, in one transaction (the SQL function audit_seal, migration audit_sealer). Safe to call from any
 * number of processes: one seals, the others come back busy.
 */
export async function sealAuditEvents(db: Db, maxRows = SEAL_BATCH): Promise<SealResult> {
  const [row] = await db.$queryRaw<Array<{ sealed: number; busy: boolean; head_seq: string | null; head_hash: string | null }>>`
    SELECT sealed, busy, head_seq::text AS head_seq, head_hash FROM audit_seal(${maxRows}::int)`;
  return { sealed: row.sealed, busy: row.busy, head: row.head_seq === null || row.head_hash === null ? null : { seq: Number(row.head_seq), hash: row.head_hash } };
}

/** Seals until nothing is left (tests, and a process shutting down), waiting while another process seals, at most
 * `maxWaitMs`; returns how many it sealed. */
export async function sealAll(db: Db, maxRows = SEAL_BATCH, maxWaitMs = 30_000): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let total = 0;
  for (;;) {
    const result = await sealAuditEvents(db, maxRows);
    total += result.sealed;
    if (result.busy) {
      if (Date.now() > deadline) return total;
      await new Promise((resolve) => setTimeout(resolve, 10));
      continue;
    }
    if (result.sealed < maxRows) return total;
  }
}

/** The oldest committed event still waiting to be sealed (its age on the database's clock), or null. */
export async function oldestUnsealed(db: Db): Promise<{ id: string; ageMs: number } | null> {
  const [row] = await db.$queryRaw<Array<{ id: string; ageMs: number }>>`
    SELECT id::text AS id, (extract(epoch FROM (now() AT TIME ZONE 'UTC') - "createdAt") * 1000)::float8 AS "ageMs"
    FROM "AuditEvent" WHERE seq IS NULL ORDER BY id LIMIT 1`;
  return row ?? null;
}

/** The text of a published head. Machines read it back with parsePublishedHeads (verify --known-head). */
export function publishedHeadText(head: { seq: number; hash: string }, at: Date): string {
  return `Audit chain head: seq ${head.seq}, sha256 ${head.hash}, at ${at.toISOString()}`;
}

const HEAD_TEXT = /\bseq\s+(\d{1,15}),?\s+sha256\s+([0-9a-f]{64})\b/gi;
const HEAD_PAIR = /^\s*(\d{1,15}):([0-9a-f]{64})\s*$/i;

/**
 * The heads in a text: `seq:hash` (as verify prints it), a posted message ("Audit chain head: seq 12, sha256 …",
 * any number of them, e.g. pasted from the channel), or JSON Lines as the sealer appends them to a file
 * ({"seq":12,"hash":"…","at":"…"}). Empty when the text holds none.
 */
export function parsePublishedHeads(text: string): Array<{ seq: number; hash: string }> {
  const pair = HEAD_PAIR.exec(text);
  if (pair) return [{ seq: Number(pair[1]), hash: pair[2].toLowerCase() }];
  const heads: Array<{ seq: number; hash: string }> = [];
  for (const match of text.matchAll(HEAD_TEXT)) heads.push({ seq: Number(match[1]), hash: match[2].toLowerCase() });
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { seq?: unknown; hash?: unknown };
      if (typeof entry.seq === 'number' && Number.isSafeInteger(entry.seq) && typeof entry.hash === 'string' && /^[0-9a-f]{64}$/i.test(entry.hash)) {
        heads.push({ seq: entry.seq, hash: entry.hash.toLowerCase() });
      }
    } catch {
      // not a JSON line: ignored
    }
  }
  return heads.filter((head) => head.seq >= 1);
}

/** Where heads are published: the security channel (Slack post) and/or a file (a JSON line appended). */
export interface HeadTargets {
  securityChannel: string | null;
  headFile: string | null;
}

/** The effects of one published head: one per target, each in a lane of its own (the order of heads is kept). */
export function headEffects(targets: HeadTargets, head: { seq: number; hash: string }, at: Date): NewEffect[] {
  const payload = { seq: head.seq, hash: head.hash, at: at.toISOString() };
  const effects: NewEffect[] = [];
  if (targets.securityChannel) effects.push({ pool: 'slack', lane: 'audit-head:slack', kind: 'audit.head', payload: { ...payload, target: 'slack' } });
  if (targets.headFile) effects.push({ pool: 'slack', lane: 'audit-head:file', kind: 'audit.head', payload: { ...payload, target: 'file' } });
  return effects;
}

/** Lock key of the transactions that decide whether to publish or alert (two processes must not both do it). */
const PUBLISH_LOCK = 0x6267_6865; // 'bghe'

/**
 * Publishes the current head unless it was already published (or, with `notWithinMs`, unless any head was published
 * that recently): writes its effects to the outbox (commit first, then
 * act: the Slack post and the file line are delivered by the effect runners). Returns the head published, or null.
 */
export async function publishHead(db: Db, targets: HeadTargets, now = new Date(), options: { notWithinMs?: number } = {}): Promise<{ seq: number; hash: string } | null> {
  if (!targets.securityChannel && !targets.headFile) return null;
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${PUBLISH_LOCK}::int)`;
    const [head] = await tx.$queryRaw<Array<{ seq: string; hash: string }>>`SELECT seq::text AS seq, hash FROM "AuditChainHead" WHERE id = 1`;
    if (!head || Number(head.seq) === 0) return null;
    const [last] = await tx.$queryRaw<Array<{ seq: string | null; ageMs: number }>>`
      SELECT payload->>'seq' AS seq, (extract(epoch FROM (now() AT TIME ZONE 'UTC') - "createdAt") * 1000)::float8 AS "ageMs"
      FROM "Effect" WHERE kind = 'audit.head' ORDER BY id DESC LIMIT 1`;
    if (last && Number(last.seq) === Number(head.seq)) return null;
    // On a schedule, several processes share one: a head another process published lately is enough.
    if (last && options.notWithinMs !== undefined && last.ageMs < options.notWithinMs) return null;
    const published = { seq: Number(head.seq), hash: head.hash };
    await writeEffects(tx, headEffects(targets, published, now));
    return published;
  });
}

/** Writes the "events wait to be sealed" alert unless one was written in the last LATE_ALERT_EVERY_MS; true if written. */
async function alertLate(db: Db, late: { id: string; ageMs: number }, boundMs: number): Promise<boolean> {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${PUBLISH_LOCK}::int)`;
    const [recent] = await tx.$queryRaw<Array<{ id: bigint }>>`
      SELECT id FROM "Effect" WHERE kind = 'audit.seal_late'
        AND "createdAt" > (now() AT TIME ZONE 'UTC') - make_interval(secs => ${LATE_ALERT_EVERY_MS / 1000}::float8) LIMIT 1`;
    if (recent) return false;
    await writeEffects(tx, [{ pool: 'slack', lane: 'audit-seal-late', kind: 'audit.seal_late', payload: { eventId: late.id, ageMs: Math.round(late.ageMs), boundMs } }]);
    return true;
  });
}

export interface AuditSealerOptions {
  db: Db;
  logger: Logger;
  /** An event waiting longer than this to be sealed is late: logged as an error and alerted (AUDIT_SEAL_BOUND). */
  boundMs: number;
  targets: HeadTargets;
  /** How often the head is published (AUDIT_HEAD_PUBLISH_EVERY); null: only at shutdown. */
  publishEveryMs: number | null;
  everyMs?: number;
  batch?: number;
  /** Called with each seal's outcome (metrics). */
  onSealed?: (result: SealResult) => void;
  /** Resolves when this process's expiry sweeps are done, or after at most the given time: sealing (an UPDATE of
   * every new event) gives way to a burst of revocations, which would otherwise compete with it for the CPU and the
   * database. */
  giveWay?: (maxWaitMs: number) => Promise<void>;
}

/** The longest a seal gives way to expiry sweeps: a quarter of the bound, at most 1 s. */
const giveWayMaxMs = (boundMs: number) => Math.min(1_000, Math.floor(boundMs / 4));

/**
 * The sealer loop of one process (every role runs one). Seals every `everyMs`, sooner when woken after a commit that
 * wrote audit events, and again at once while batches come back full. Once an event it saw unsealed is still
 * unsealed past the bound at a later tick, it logs an error and alerts the security channel (at most every 15 min).
 * Publishes the head on its schedule and once more when it stops.
 */
export class AuditSealer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private lastRunAt = 0;
  private lastPublishAt = Date.now();
  /** The oldest unsealed event seen at the end of the previous tick. */
  private waiting: string | null = null;
  /** Seal again right after this tick: the batch was full, or a commit woke the loop while it sealed. */
  private again = false;
  /** When this process last logged late sealing (at most once a minute). */
  private lateLoggedAt = 0;
  private readonly everyMs: number;
  private readonly batch: number;

  constructor(private readonly options: AuditSealerOptions) {
    this.everyMs = options.everyMs ?? SEAL_EVERY_MS;
    this.batch = options.batch ?? SEAL_BATCH;
  }

  start(): void {
    this.stopped = false;
    this.lastPublishAt = Date.now();
    this.schedule(0);
  }

  /** Events were committed: seal soon (at most one seal per SEAL_MIN_GAP_MS). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(Math.max(0, this.lastRunAt + SEAL_MIN_GAP_MS - Date.now()));
  }

  /** Stops the loop, seals what is left and publishes the head (if it changed since the last publication). */
  async stop(): Promise<void> {
    // Never started (a start that failed before it): nothing of this process's to seal or publish.
    if (this.stopped && !this.timer && !this.running) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    try {
      // Another process sealing holds the lock only briefly; one that hangs must not hold up this shutdown.
      await sealAll(this.options.db, this.batch, 5_000);
      await publishHead(this.options.db, this.options.targets);
    } catch (err) {
      this.options.logger.warn({ err }, 'could not seal or publish the audit chain head at shutdown');
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick().finally(() => {
        this.running = null;
        if (!this.stopped && !this.timer) this.schedule(this.again ? SEAL_MIN_GAP_MS : this.everyMs);
      });
    }, delayMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    const { db, logger } = this.options;
    this.lastRunAt = Date.now();
    this.again = false;
    try {
      await this.options.giveWay?.(giveWayMaxMs(this.options.boundMs));
      const result = await sealAuditEvents(db, this.batch);
      this.options.onSealed?.(result);
      const full = !result.busy && result.sealed === this.batch;
      if (full) this.again = true;
      else await this.checkLate();
      if (this.options.publishEveryMs !== null && Date.now() - this.lastPublishAt >= this.options.publishEveryMs) {
        this.lastPublishAt = Date.now();
        await publishHead(db, this.options.targets, new Date(), { notWithinMs: this.options.publishEveryMs * 0.9 });
      }
    } catch (err) {
      logger.warn({ err }, 'audit sealer: sealing failed; trying again at the next tick');
      await this.checkLate().catch(() => undefined);
    }
  }

  /** An event already waiting at the previous tick and still unsealed past the bound is late. */
  private async checkLate(): Promise<void> {
    const { db, logger, boundMs, targets } = this.options;
    const oldest = await oldestUnsealed(db);
    const lateSince = this.waiting;
    this.waiting = oldest?.id ?? null;
    if (!oldest || oldest.id !== lateSince || oldest.ageMs <= boundMs) return;
    if (Date.now() - this.lateLoggedAt < 60_000) return;
    this.lateLoggedAt = Date.now();
    logger.error({ eventId: oldest.id, waitedMs: Math.round(oldest.ageMs), boundMs }, 'audit events wait to be sealed longer than AUDIT_SEAL_BOUND');
    if (targets.securityChannel) await alertLate(db, oldest, boundMs);
  }
}
