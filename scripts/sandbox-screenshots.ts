// `npm run sandbox:screenshots`: drives the sandbox in Chromium and saves its main screens to docs/screenshots/
// (the README shows one). Uses DATABASE_URL / REDIS_URL when set, like `npm run sandbox`, else the embedded ones.
import fs from 'node:fs';
import path from 'node:path';
import { startSandbox } from '../src/sandbox/sandbox';
import { launchChromium, SandboxPage } from '../test/support/sandbox-browser';

const OUT = path.resolve(__dirname, '../docs/screenshots');

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const sandbox = await startSandbox({
    databaseUrl: process.env.DATABASE_URL || undefined,
    migrationDatabaseUrl: process.env.MIGRATION_DATABASE_URL || undefined,
    targetDatabaseUrl: process.env.SANDBOX_TARGET_DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    dataDir: process.env.SANDBOX_DATA_DIR || undefined,
    queueName: `breakglass-sandbox-screenshots-${process.pid}`,
    log: (line) => console.log(`sandbox: ${line}`),
  });
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 760 });
    const ui = new SandboxPage(page, sandbox.url);
    await ui.goto('U0ALICE');
    await ui.type('/breakglass demo-db write 3m INC-4211 payout worker stuck, need to requeue');
    await ui.message('requests break-glass access').waitFor();
    await ui.as('U0BOB');
    await ui.clickOnMessage('requests break-glass access', 'Approve');
    await ui.ephemeral('1 more needed').waitFor();
    await ui.message('Waiting for 1 more approval').waitFor();
    await page.screenshot({ path: path.join(OUT, 'channel-approval.png') });
    console.log('saved docs/screenshots/channel-approval.png');

    await ui.as('U0CAROL');
    await ui.clickOnMessage('requests break-glass access', 'Approve');
    await ui.target('postgres').filter({ hasText: 'alice' }).waitFor();

    await ui.as('U0ALICE');
    await ui.type('/breakglass');
    await page.locator('#modal-overlay:not([hidden])').waitFor();
    await ui.modalField('Resource').selectOption('deploy-console');
    await page.locator('#modal select option[value="operator"]').waitFor({ state: 'attached' });
    await ui.modalField('Duration').fill('30m');
    await ui.modalField('Reason').fill('Roll back the 14:02 deploy');
    await page.screenshot({ path: path.join(OUT, 'request-modal.png') });
    console.log('saved docs/screenshots/request-modal.png');
    await page.click('#modal-overlay [data-modal="close"] >> nth=0');

    await ui.open('home');
    await page.locator('.home .bk-header').first().waitFor();
    await page.screenshot({ path: path.join(OUT, 'app-home.png') });
    console.log('saved docs/screenshots/app-home.png');
  } finally {
    await browser.close();
    await sandbox.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
