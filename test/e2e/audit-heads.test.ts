import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runAuditCli } from '../../src/cli/audit';
import { createPrisma } from '../../src/db/prisma';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import { tamper } from '../audit/audit-fixtures';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1 } from './policy-fixture';

const SECURITY_CHANNEL = 'C0SECURITY';

/** `npm run audit -- verify …` in this process, against the test database. */
async function verify(...args: string[]): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  for (const stream of [stdout, stderr]) stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await runAuditCli(['verify', ...args], { stdout, stderr, env: { DATABASE_URL: process.env.TEST_DATABASE_URL } });
  return { code, out };
}

/** The bot seals what it commits and publishes the chain head outside the database; verify holds the chain to it. */
describe('published audit chain heads', () => {
  const target = new TargetDatabase();
  let harness: BotHarness | undefined;

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  afterAll(async () => {
    await target.dropAll();
  });

  it('posts the head to the security channel and the policy’s file; a later rewrite of the chain fails verify with them', async () => {
    const headFile = path.join(mkdtempSync(path.join(tmpdir(), 'bg-heads-')), 'heads.jsonl');
    ({ harness } = await startE2eBot(target, undefined, {
      policy: { extra: `alerts: { securityChannel: ${SECURITY_CHANNEL} }\naudit: { publishHead: ${headFile} }` },
      harness: { config: { auditHeadPublishEveryMs: 300 } },
    }));
    const { request } = await requestAccess(harness, 'payments-db read 30m INC-7 head publishing');
    await harness.click(ActionIds.approve, APPROVER1, request);
    await statusBecomes(harness, request.id, 'ACTIVE');
    const events = (await harness.auditActions(request.id)).length;

    // The head that covers the whole flow, as the security channel received it.
    const post = await waitFor(
      () =>
        harness!.slack
          .callsOf('chat.postMessage')
          .filter((call) => call.args.channel === SECURITY_CHANNEL)
          .map((call) => String(call.args.text))
          .find((text) => new RegExp(`^Audit chain head: seq ${events}, sha256 [0-9a-f]{64}, at `).test(text)),
      'the head post',
    );
    const head = await harness.db.auditChainHead.findUniqueOrThrow({ where: { id: 1 } });
    expect(post).toContain(`seq ${head.seq}, sha256 ${head.hash}`);
    await waitFor(() => readFileSync(headFile, 'utf8').includes(head.hash), 'the head in the file');
    expect(JSON.parse(readFileSync(headFile, 'utf8').trim().split('\n').pop()!)).toMatchObject({ seq: Number(head.seq), hash: head.hash });

    // Sealed: nothing waits, as /metrics says.
    const metrics = await (await fetch(`http://127.0.0.1:${harness.port}/metrics`)).text();
    expect(metrics).toMatch(/^breakglass_audit_oldest_unsealed_seconds 0$/m);
    expect(metrics).toMatch(/^breakglass_audit_events_sealed_total [1-9]\d*$/m);

    expect(await verify('--known-head', post)).toMatchObject({ code: 0 });
    expect(await verify('--known-head', headFile)).toMatchObject({ code: 0 });
    expect((await verify('--known-head', 'no head in here')).code).toBe(2);

    await harness.stop();
    harness = undefined;
    // The owner rewrites the requester's first event and re-chains everything after it (triggers off, hashes
    // recomputed with the real definition, head moved): verify alone is satisfied, the published heads are not.
    const owner = createPrisma(process.env.TEST_OWNER_DATABASE_URL!);
    await tamper(
      owner,
      `UPDATE "AuditEvent" SET details = '{"reason": "nothing to see"}' WHERE seq = 1`,
      `DO $$ DECLARE previous TEXT := repeat('0', 64); e RECORD; BEGIN
         FOR e IN SELECT * FROM "AuditEvent" WHERE seq >= 1 ORDER BY seq LOOP
           UPDATE "AuditEvent" SET "prevHash" = previous, hash = audit_event_hash(previous, e.seq, e."requestId", e.actor, e.action, e.details, e."createdAt") WHERE id = e.id RETURNING hash INTO previous;
         END LOOP;
         UPDATE "AuditChainHead" SET hash = previous;
       END $$`,
    );
    await owner.$disconnect();
    expect(await verify()).toMatchObject({ code: 0 });
    for (const known of [post, headFile]) {
      const rewritten = await verify('--known-head', known);
      expect(rewritten.code).toBe(1);
      expect(rewritten.out).toContain(`[known-head-mismatch] seq ${head.seq}`);
    }
  });
});
