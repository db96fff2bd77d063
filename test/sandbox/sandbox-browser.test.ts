import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { reminderQueueName } from '../../src/jobs/reminder-queue';
import { type Sandbox, startSandbox } from '../../src/sandbox/sandbox';
import { truncateAll } from '../support/databases';
import { launchChromium, SandboxPage } from '../support/sandbox-browser';

// The sandbox as a person uses it, in a real Chromium: the page, the stand-in, the real bot and its real PostgreSQL
// and Redis (the test run's, not embedded ones: see sandbox-batteries.test.ts for those).
jest.setTimeout(120_000);

const suffix = randomBytes(3).toString('hex');
const prefix = `bg_sbx_${suffix}_`;
const queueName = `bg-test-sandbox-${suffix}`;
let sandbox: Sandbox;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let ui: SandboxPage;
let page: Page;

beforeAll(async () => {
  await truncateAll();
  sandbox = await startSandbox({
    databaseUrl: process.env.TEST_DATABASE_URL,
    targetDatabaseUrl: process.env.TEST_TARGET_DATABASE_URL,
    redisUrl: process.env.TEST_REDIS_URL,
    rolePrefix: prefix,
    queueName,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  browser = await launchChromium();
  page = await browser.context.newPage();
  ui = new SandboxPage(page, sandbox.url);
});

afterAll(async () => {
  await browser?.close();
  await sandbox?.stop();
  await sandbox?.postgresTarget.dropAll();
  const { Queue } = await import('bullmq');
  for (const name of [queueName, reminderQueueName(queueName)]) {
    const queue = new Queue(name, { connection: { url: process.env.TEST_REDIS_URL } });
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

const SHORT = { timeout: 10_000 };

it('takes a request through two approvals to a grant, its expiry and its summary, all in the browser', async () => {
  await ui.goto('U0ALICE');
  await ui.type('/breakglass demo-db write 15s INC-42 payouts stuck, need to requeue');
  const request = ui.message('requests break-glass access');
  await request.waitFor(SHORT);
  expect(await request.textContent()).toContain('payouts stuck, need to requeue');
  // Mentions render as names, not ids.
  expect(await request.locator('.mention', { hasText: '@Alice' }).count()).toBeGreaterThan(0);

  // The requester may not approve: the answer is hers alone.
  await ui.clickOnMessage('requests break-glass access', 'Approve');
  await ui.ephemeral('cannot approve your own request').waitFor(SHORT);

  await ui.as('U0BOB');
  expect(await page.locator('.message.ephemeral', { hasText: 'cannot approve your own request' }).count()).toBe(0);
  await ui.clickOnMessage('requests break-glass access', 'Approve');
  await ui.ephemeral('1 more needed').waitFor(SHORT);
  await ui.message('Waiting for 1 more approval').waitFor(SHORT);

  await ui.as('U0CAROL');
  expect(await page.locator('.message.ephemeral', { hasText: '1 more needed' }).count()).toBe(0);
  await ui.clickOnMessage('requests break-glass access', 'Approve');
  await ui.ephemeral('completes the approvals').waitFor(SHORT);

  // The grant, on the real role, shown under Targets; the message says it is active.
  await ui
    .target('postgres')
    .filter({ hasText: `${prefix}alice` })
    .waitFor(SHORT);
  await ui.message(/Active/).waitFor(SHORT);
  await page.locator('.thread .message', { hasText: 'Granted' }).first().waitFor(SHORT);

  // The expiry revokes it, and the audit summary follows in the channel.
  await ui
    .target('postgres')
    .filter({ hasNotText: `${prefix}alice` })
    .waitFor({ timeout: 40_000 });
  const summary = page.locator('#messages > .message', { hasText: 'Audit summary' }).last();
  await summary.waitFor({ timeout: 20_000 });
  expect(await summary.textContent()).toMatch(/Expired|expired/);
  expect(await summary.textContent()).toContain('@Bob');
  // The stand-in took every call the bot made.
  expect(await page.locator('#errors').textContent()).toContain('None');
});

it('files a request through the modal, and ends it with a confirmed Revoke now on the webhook target', async () => {
  await ui.as('U0ALICE');
  await ui.type('/breakglass');
  await page.locator('#modal-overlay:not([hidden])').waitFor(SHORT);
  // Choosing the resource redraws the modal with its roles (views.update); the single role is preselected.
  await ui.modalField('Resource').selectOption('deploy-console');
  await page.locator('#modal select option[value="operator"]').waitFor({ state: 'attached', ...SHORT });
  await ui.modalField('Duration').fill('2m');
  await ui.modalField('Reason').fill('ship the hotfix');
  await ui.submitModal();
  await page.locator('#modal-overlay[hidden]').waitFor({ state: 'attached', ...SHORT });
  await ui.message('deploy-console').waitFor(SHORT);

  await ui.as('U0BOB');
  await ui.clickOnMessage('deploy-console', 'Approve');
  await ui
    .target('webhook')
    .filter({ hasText: `${prefix}alice` })
    .waitFor(SHORT);

  await ui.as('U0ALICE');
  await ui.clickOnMessage(/deploy-console.*Active/s, 'Revoke now', 'Revoke');
  await ui
    .target('webhook')
    .filter({ hasNotText: `${prefix}alice` })
    .waitFor(SHORT);
  await ui.message(/deploy-console.*Revoked/is).waitFor(SHORT);
});

it('shows the modal errors inline and keeps what was typed', async () => {
  await ui.type('/breakglass');
  await page.locator('#modal-overlay:not([hidden])').waitFor(SHORT);
  await ui.modalField('Resource').selectOption('demo-db');
  await page.locator('#modal select option[value="write"]').waitFor({ state: 'attached', ...SHORT });
  await ui.modalField('Duration').fill('banana');
  await ui.modalField('Reason').fill('kept text');
  await ui.submitModal();
  await page.locator('#modal .bk-error').first().waitFor(SHORT);
  expect(await ui.modalField('Reason').inputValue()).toBe('kept text');
  await page.click('#modal-overlay [data-modal="close"] >> nth=0');
  await page.locator('#modal-overlay[hidden]').waitFor({ state: 'attached', ...SHORT });
});

it('opens the App Home with the requests of whoever is looking', async () => {
  await ui.open('home');
  await page.locator('.home .bk-header', { hasText: 'Your recent requests' }).waitFor(SHORT);
  expect(await page.locator('.home').textContent()).toContain('demo-db');
  await ui.as('U0EVE');
  await page.locator('.home').filter({ hasNotText: 'demo-db' }).waitFor(SHORT);
});
