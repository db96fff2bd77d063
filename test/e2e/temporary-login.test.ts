import { temporaryLoginName } from '../../src/providers/postgres-provider';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { waitFor } from '../support/wait';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1, REQUESTER } from './policy-fixture';

/** PostgreSQL temporary-login mode end to end: the password reaches the requester's DM and nowhere else (not the
 * channel, the database, the audit trail, the job queue or the logs), and the login is gone after expiry. */
const target = new TargetDatabase();
let harness: BotHarness;
let login: string;

beforeAll(async () => {
  await target.connect();
  const readRole = await target.createRole('temp_read', { login: false });
  ({ harness, login } = await startE2eBot(target, undefined, {
    policy: {
      extraResources: `
  - id: payments-temp
    provider: { type: postgres, url: "${target.url}", mode: temporary-login }
    approvers: [U0APPROVER1]
    roles: [ { id: read, grant: ${readRole}, approvals: 1, maxDuration: 1h, requireTicket: false } ]`,
    },
    harness: { captureLogs: true },
  }));
});

afterAll(async () => {
  await harness?.stop();
  await target.dropAll();
});

describe('temporary-login mode', () => {
  it('DMs a working login to the requester alone, keeps the password out of every record, and drops the login at expiry', async () => {
    const { request } = await requestAccess(harness, 'payments-temp read 4s - temporary login please');
    await harness.click(ActionIds.approve, APPROVER1, request);
    const active = await statusBecomes(harness, request.id, 'ACTIVE');
    const tempLogin = temporaryLoginName(request.number, login);
    expect(active.grant).toMatchObject({ login: tempLogin });

    await harness.slack.waitForCall('conversations.open', (args) => args.users === REQUESTER);
    const dm = await waitFor(() => harness.slack.callsOf('chat.postMessage').find((call) => /Temporary login for BG-/.test(call.args.text ?? '')), 'the credentials DM');
    expect(dm.args.channel).toBe(`D${REQUESTER}`); // the fake's DM channel with the requester
    const password = /\*Password:\* `([^`]+)`/.exec(JSON.stringify(dm.args.blocks).replace(/\\"/g, '"'))?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    const [role] = await target.query('SELECT rolcanlogin, rolvaliduntil FROM pg_roles WHERE rolname = $1', [tempLogin]);
    expect(role.rolcanlogin).toBe(true);
    expect(Math.abs(new Date(role.rolvaliduntil).getTime() - active.expiresAt!.getTime())).toBeLessThan(1_000);

    const expired = await statusBecomes(harness, request.id, 'EXPIRED', 15_000);
    expect(expired.endedAt).not.toBeNull();
    expect(await target.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [tempLogin])).toHaveLength(0);

    // The password was written exactly once: in that DM.
    const json = (value: unknown) => JSON.stringify(value, (_key, field) => (typeof field === 'bigint' ? String(field) : field));
    const everywhereElse = [
      json(harness.slack.calls.filter((call) => call !== dm).map((call) => call.args)),
      json(await harness.db.auditEvent.findMany()),
      json(await harness.db.accessRequest.findMany({ include: { grant: true } })),
      harness.logs.join('\n'),
    ];
    for (const text of everywhereElse) expect(text).not.toContain(password!);
    expect(harness.logs.length).toBeGreaterThan(0);
  });
});
