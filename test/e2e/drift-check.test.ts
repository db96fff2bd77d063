import { createLogger } from '../../src/logger';
import { parsePolicy } from '../../src/policy/load-policy';
import { ProviderRegistry } from '../../src/providers/provider-registry';
import { DriftCheck, type DriftReports } from '../../src/requests/drift-check';
import type { AccessRequest } from '../../src/db/prisma';
import { ActionIds } from '../../src/slack/blocks/action-ids';
import type { BotHarness } from '../support/bot-harness';
import { TargetDatabase } from '../support/target-database';
import { requestAccess, startE2eBot, statusBecomes } from './e2e-helpers';
import { APPROVER1 } from './policy-fixture';

/** The acceptance test: access granted and expired through the bot, then granted again by hand on the
 * target; the drift check finds it and takes it away. */
const target = new TargetDatabase();
let harness: BotHarness;
let providers: ProviderRegistry;
let drift: DriftCheck;
const reappeared: Array<{ request: AccessRequest; outcome: { revoked: boolean; error?: string } }> = [];
let login: string;
let readRole: string;

beforeAll(async () => {
  let policyYaml: string;
  ({ harness, login, readRole, policyYaml } = await startE2eBot(target));
  const policy = parsePolicy(policyYaml, 'test-policy.yaml', {});
  providers = new ProviderRegistry(policy);
  const reports: DriftReports = {
    reappeared: async (request, outcome) => void reappeared.push({ request, outcome }),
    missing: async () => undefined,
  };
  drift = new DriftCheck({ db: harness.db, providers, policy, logger: createLogger('silent'), metrics: harness.bot.metrics, reports });
});

afterAll(async () => {
  await providers?.closeAll();
  await harness?.stop();
  await target.dropAll();
});

it('revokes a grant made by hand on the target after the access expired', async () => {
  const { request } = await requestAccess(harness, 'payments-db read 1h INC-42 drift acceptance test');
  await harness.click(ActionIds.approve, APPROVER1, request);
  await statusBecomes(harness, request.id, 'ACTIVE');
  expect(await target.hasRole(login, readRole)).toBe(true);
  // The hour is over.
  await harness.db.accessRequest.update({ where: { id: request.id }, data: { expiresAt: new Date(Date.now() - 1_000) } });
  await harness.bot.service.processExpiry(request.id);
  await statusBecomes(harness, request.id, 'EXPIRED');
  expect(await target.hasRole(login, readRole)).toBe(false);

  // Behind the bot's back.
  await target.query(`GRANT "${readRole}" TO "${login}"`);
  expect(await target.hasRole(login, readRole)).toBe(true);

  const result = await drift.run();

  expect(result).toMatchObject({ reappeared: 1, revoked: 1, missing: 0, errors: 0 });
  expect(await target.hasRole(login, readRole)).toBe(false);
  expect(await harness.auditActions(request.id)).toEqual(['REQUESTED', 'APPROVAL_RECORDED', 'QUORUM_REACHED', 'GRANTED', 'EXPIRED', 'DRIFT_REVOKED']);
  expect((await harness.request(request.id)).status).toBe('EXPIRED');
  expect(reappeared.map(({ request: reported, outcome }) => [reported.id, outcome])).toEqual([[request.id, { revoked: true }]]);
  const metrics = await harness.bot.metrics.registry.getSingleMetric('breakglass_drift_found_total')!.get();
  expect(metrics.values.find((value) => value.labels.resource === 'payments-db' && value.labels.kind === 'reappeared')?.value).toBe(1);
});
