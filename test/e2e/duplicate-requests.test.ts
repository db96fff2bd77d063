import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { Prisma } from '../../src/db/prisma';
import { formatUtcTime } from '../../src/domain/utc-time';
import { ActionIds, RequestModal } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { plainTextInputValue, staticSelectValue } from '../support/slack-request-signer';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, CHANNEL, REQUESTER } from './policy-fixture';

/** One live request per requester, resource and role: a second one is refused, whichever way it comes in. */
const target = new TargetDatabase();
let harness: BotHarness;
let login: string;

beforeAll(async () => {
  ({ harness, login } = await startE2eBot(target));
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

const liveReadRequests = () => harness.db.accessRequest.count({ where: { requesterId: REQUESTER, roleId: 'read', status: { in: ['PENDING', 'APPROVED', 'ACTIVE'] } } });

/** Sends `/breakglass <text>` and returns the ephemeral answer on the response_url. */
async function answerTo(text: string): Promise<string> {
  const answers = harness.slack.callsOf('response_url').length;
  const response = await harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text });
  expect(response.status).toBe(200);
  const call = await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], 'an answer on the response_url');
  expect(call.args.response_type).toBe('ephemeral');
  return call.args.text;
}

function submitModal(fields: { role: string; duration: string; ticket: string; reason: string }) {
  const { blocks } = RequestModal;
  return harness.sender.viewSubmission({
    userId: REQUESTER,
    callbackId: RequestModal.callbackId,
    privateMetadata: CHANNEL,
    values: {
      [blocks.resource.blockId]: { [blocks.resource.actionId]: staticSelectValue('payments-db') },
      [`${blocks.role.blockId}:payments-db`]: { [blocks.role.actionId]: staticSelectValue(fields.role) },
      [blocks.duration.blockId]: { [blocks.duration.actionId]: plainTextInputValue(fields.duration) },
      [blocks.ticket.blockId]: { [blocks.ticket.actionId]: plainTextInputValue(fields.ticket) },
      [blocks.reason.blockId]: { [blocks.reason.actionId]: plainTextInputValue(fields.reason) },
    },
  });
}

async function withdraw(request: { id: string; channelId: string; messageTs: string | null }) {
  const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
  await harness.click(ActionIds.deny, REQUESTER, request);
  const denied = await statusBecomes(harness, request.id, 'DENIED');
  // The answer comes after the change (the click's work waits its turn after the ack): wait for it too, so it
  // cannot be taken for the answer a later step waits for.
  await waitFor(
    () =>
      harness.slack
        .callsOf('chat.postEphemeral')
        .slice(ephemerals)
        .find((call) => String(call.args.text).includes(`You withdrew BG-${denied.number}`)),
    'the withdrawal answer',
  );
}

/** A request row written straight to the database, as an older bot version or another writer might have. */
function seedRow() {
  return {
    requesterId: REQUESTER,
    requesterLogin: login,
    resourceId: 'payments-db',
    roleId: 'read',
    grantName: target.name('read'),
    durationSeconds: 3600,
    reason: 'seeded',
    channelId: CHANNEL,
    requiredApprovals: 1,
  };
}

describe('a second request for access the requester already holds', () => {
  it('is refused while the first is active, pointing at it and at Extend, and records nothing', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 1h INC-1 first look at the ledger');
    await harness.click(ActionIds.approve, APPROVER1, request);
    const active = await statusBecomes(harness, request.id, 'ACTIVE');
    const requests = await harness.db.accessRequest.count();
    const events = await harness.db.auditEvent.count();

    const answer = await answerTo('payments-db read 30m INC-2 a second look');
    const id = `BG-${request.number}`;
    expect(answer).toBe(
      `:warning: You already hold \`payments-db\` / \`read\` until ${formatUtcTime(active.expiresAt!)} (${id}). To keep it longer, use Extend on its DM or \`/breakglass extend ${id} 30m\`.`,
    );
    expect(await harness.db.accessRequest.count()).toBe(requests);
    expect(await harness.db.auditEvent.count()).toBe(events);

    // Another role on the same resource is another piece of access: asking for it is fine.
    const { request: write } = await requestAccess(harness, 'payments-db write 30m INC-3 and a fix');
    expect(write.status).toBe('PENDING');
    await withdraw(write);

    await harness.click(ActionIds.revokeNow, REQUESTER, request);
    await statusBecomes(harness, request.id, 'REVOKED');
    expect(await target.hasRole(login, target.name('read'))).toBe(false);
  });

  it('is refused while the first waits for approval, from the command and inline in the modal', async () => {
    const { request } = await requestAccess(harness, 'payments-db read 1h INC-4 waiting for an approver');
    const id = `BG-${request.number}`;
    const pending = `You already asked for \`payments-db\` / \`read\` in ${id}, and it is still waiting for approval.`;

    expect(await answerTo('payments-db read 2h INC-5 asking again')).toContain(pending);

    const response = await submitModal({ role: 'read', duration: '30m', ticket: 'INC-6', reason: 'asking a third time' });
    expect(response.status).toBe(200);
    const { response_action, errors } = response.json();
    expect(response_action).toBe('errors');
    expect(Object.keys(errors)).toEqual([`${RequestModal.blocks.role.blockId}:payments-db`]);
    expect(Object.values(errors)[0]).toContain(pending);
    expect(await liveReadRequests()).toBe(1);
    await withdraw(request);
  });

  it('is allowed again once the first has expired, been denied or been revoked', async () => {
    const { request: expiring } = await requestAccess(harness, 'payments-db read 2s INC-7 a short look');
    await harness.click(ActionIds.approve, APPROVER1, expiring);
    await statusBecomes(harness, expiring.id, 'EXPIRED', 15_000);

    const { request: denied } = await requestAccess(harness, 'payments-db read 1h INC-8 after it expired');
    await harness.click(ActionIds.deny, APPROVER1, denied);
    await statusBecomes(harness, denied.id, 'DENIED');

    const { request: revoked } = await requestAccess(harness, 'payments-db read 1h INC-9 after the denial');
    await harness.click(ActionIds.approve, APPROVER1, revoked);
    await statusBecomes(harness, revoked.id, 'ACTIVE');
    await harness.click(ActionIds.revokeNow, REQUESTER, revoked);
    await statusBecomes(harness, revoked.id, 'REVOKED');

    const { request: again } = await requestAccess(harness, 'payments-db read 1h INC-10 after the revocation');
    expect(again.status).toBe('PENDING');
    await withdraw(again);
  });

  it('is allowed while the first is being revoked: that access is on its way out', async () => {
    // The deploy-console webhook points nowhere here: the grant fails, and its rollback keeps failing (REVOKING).
    const { request: failing } = await requestAccess(harness, 'deploy-console operator 1h - the target is down');
    await harness.click(ActionIds.approve, APPROVER1, failing);
    await statusBecomes(harness, failing.id, 'REVOKING');
    const { request: next } = await requestAccess(harness, 'deploy-console operator 1h - trying again');
    expect(next.status).toBe('PENDING');
    expect((await harness.request(failing.id)).status).toBe('REVOKING');
    await withdraw(next);
  });

  it('does not let a request left waiting past requestTtl stand in the way: it is timed out first', async () => {
    // Older than the fixture's requestTtl (1h), not yet closed by the reconciler.
    const stale = await harness.db.accessRequest.create({ data: { ...seedRow(), status: 'PENDING', createdAt: new Date(Date.now() - 2 * 3_600_000) } });
    const { request } = await requestAccess(harness, 'payments-db read 1h INC-12 the old one was never decided');
    expect(request.status).toBe('PENDING');
    expect((await harness.request(stale.id)).status).toBe('TIMED_OUT');
    await withdraw(request);
  });
});

describe('identical submissions at the same moment (a double submit, a Slack retry)', () => {
  it('create one request from the command; the other is told about it', async () => {
    for (let round = 0; round < 5; round++) {
      const answers = harness.slack.callsOf('response_url').length;
      const text = `payments-db read 1h INC-2${round} double submit ${round}`;
      const responses = await Promise.all([0, 1].map(() => harness.sender.slashCommand({ userId: REQUESTER, channelId: CHANNEL, text })));
      expect(responses.map((r) => r.status)).toEqual([200, 200]);
      const refusal = await waitFor(() => harness.slack.callsOf('response_url').slice(answers)[0], 'the refusal of the second');
      const live = await harness.db.accessRequest.findMany({ where: { requesterId: REQUESTER, roleId: 'read', status: { in: ['PENDING', 'APPROVED', 'ACTIVE'] } } });
      expect(live).toHaveLength(1);
      expect(live[0].reason).toBe(`double submit ${round}`);
      expect(refusal.args.text).toContain(`You already asked for \`payments-db\` / \`read\` in BG-${live[0].number}`);
      const request = await waitFor(async () => {
        const stored = await harness.request(live[0].id);
        return stored.messageTs ? stored : null;
      }, 'the approval message');
      await withdraw(request);
    }
  });

  it('create one request from the modal; the other is told about it', async () => {
    const ephemerals = harness.slack.callsOf('chat.postEphemeral').length;
    const fields = { role: 'read', duration: '1h', ticket: 'INC-30', reason: 'double submit in the modal' };
    const responses = await Promise.all([submitModal(fields), submitModal(fields)]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    const live = await waitFor(async () => {
      const rows = await harness.db.accessRequest.findMany({ where: { requesterId: REQUESTER, roleId: 'read', status: 'PENDING' } });
      return rows.length > 0 ? rows : null;
    }, 'the request');
    // Both were valid when checked: the second either sees the first (an inline error) or loses the insert (an
    // ephemeral answer, as the modal has closed by then).
    const inline = responses.map((r) => r.json()).filter((body) => body?.response_action === 'errors');
    const told =
      inline.length > 0
        ? String(Object.values(inline[0].errors)[0])
        : (
            await waitFor(
              () =>
                harness.slack
                  .callsOf('chat.postEphemeral')
                  .slice(ephemerals)
                  .find((call) => String(call.args.text).includes('You already asked')),
              'the refusal',
            )
          ).args.text;
    expect(told).toContain(`You already asked for \`payments-db\` / \`read\` in BG-${live[0].number}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await liveReadRequests()).toBe(1);
    await withdraw(
      await waitFor(async () => {
        const stored = await harness.request(live[0].id);
        return stored.messageTs ? stored : null;
      }, 'the approval message'),
    );
  });

  it('are refused by the database itself, whatever writes them', async () => {
    const first = await harness.db.accessRequest.create({
      data: { ...seedRow(), status: 'ACTIVE', decidedAt: new Date(), grantedAt: new Date(), expiresAt: new Date(Date.now() + 3_600_000) },
    });
    const second = harness.db.accessRequest.create({ data: { ...seedRow(), status: 'PENDING' } });
    await expect(second).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    await expect(second).rejects.toMatchObject({ code: 'P2002' });
    // Other requesters (even with the same login) and other roles are not affected.
    await harness.db.accessRequest.create({ data: { ...seedRow(), requesterId: 'U0OTHER', status: 'PENDING' } });
    await harness.db.accessRequest.create({ data: { ...seedRow(), roleId: 'write', status: 'PENDING' } });
    await harness.db.accessRequest.updateMany({ where: { reason: 'seeded', status: { in: ['PENDING', 'ACTIVE'] } }, data: { status: 'EXPIRED', endedAt: new Date() } });
    expect((await harness.request(first.id)).status).toBe('EXPIRED');
  });
});

describe('the migration that adds the rule', () => {
  const adminUrl = process.env.TEST_PG_ADMIN_URL!;
  const scratch = 'breakglass_dup_migration';
  const scratchUrl = () => Object.assign(new URL(adminUrl), { pathname: `/${scratch}` }).toString();
  const migrationsDir = path.join(__dirname, '../../prisma/migrations');
  const migrationSql = () => {
    const name = fs.readdirSync(migrationsDir).find((entry) => entry.endsWith('_one_live_request_per_role'))!;
    return fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
  };

  async function withAdmin(sql: string) {
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  }

  afterAll(() => withAdmin(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));

  it('leaves requests that overlapped before it out of the index, instead of failing to build it', async () => {
    await withAdmin(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await withAdmin(`CREATE DATABASE ${scratch}`);
    execFileSync(process.execPath, [path.join(__dirname, '../../scripts/migrate.mjs')], { env: { ...process.env, DATABASE_URL: scratchUrl() }, stdio: 'pipe' });
    const db = new Client({ connectionString: scratchUrl() });
    await db.connect();
    try {
      const indexdef = async () => (await db.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'AccessRequest_one_live_per_requester_role'`)).rows[0]?.indexdef;
      // On a database without overlaps (this one was empty), every live request is covered.
      expect(await indexdef()).not.toMatch(/number/);
      // As the database was before the migration: U1 holds read twice and waits for it a third time.
      await db.query('DROP INDEX "AccessRequest_one_live_per_requester_role"');
      const insert = (requesterId: string, status: string) =>
        db.query(
          `INSERT INTO "AccessRequest" (id, status, "requesterId", "requesterLogin", "resourceId", "roleId", "grantName", "durationSeconds", reason, "channelId", "requiredApprovals")
           VALUES (gen_random_uuid(), $2, $1, 'alice', 'payments-db', 'read', 'payments_read', 3600, 'r', 'C1', 1)`,
          [requesterId, status],
        );
      for (const status of ['ACTIVE', 'ACTIVE', 'PENDING', 'EXPIRED']) await insert('U1', status);
      await insert('U2', 'ACTIVE'); // number 5: after the last overlapping one, so still covered

      await db.query(migrationSql());
      expect(await indexdef()).toMatch(/UNIQUE INDEX .*\("requesterId", "resourceId", "roleId"\) WHERE .*'PENDING'.*'APPROVED'.*'ACTIVE'.* AND \(number > 3\)/);
      await expect(insert('U2', 'PENDING')).rejects.toMatchObject({ code: '23505' });
      await insert('U1', 'EXPIRED');
    } finally {
      await db.end();
    }
  });
});
