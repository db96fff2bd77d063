import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

/** Debian's chromium package; browsers cannot be downloaded here, so Playwright drives this one. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with a fresh profile; close() also removes the profile. Fails with how to install Chromium
 * when there is none (never a silent skip). */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: the sandbox's browser test needs one. Install it (Debian/Ubuntu: apt-get install -y chromium; .ci/run does this) or point CHROMIUM_PATH at a Chromium or Chrome binary.`,
    );
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'breakglass-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The sandbox page, driven as a person would: pick who you are, open a channel, type, click, fill in modals. */
export class SandboxPage {
  constructor(
    readonly page: Page,
    readonly url: string,
  ) {}

  async goto(as: string, open = 'C0INCIDENTS'): Promise<void> {
    await this.page.goto(`${this.url}?as=${as}&open=${open}`);
    await this.page.locator(`body[data-me="${as}"]`).waitFor({ state: 'attached' });
  }

  /** Switches the "who am I" selector. */
  async as(personId: string): Promise<void> {
    await this.page.selectOption('#who', personId);
    // The page marks whose state it shows once it has drawn it.
    await this.page.locator(`body[data-me="${personId}"]`).waitFor({ state: 'attached' });
  }

  async open(target: string): Promise<void> {
    await this.page.click(`[data-open="${target}"]`);
  }

  async type(text: string): Promise<void> {
    await this.page.fill('#message-box', text);
    await this.page.press('#message-box', 'Enter');
  }

  /** The newest message (not a thread reply, not an ephemeral) containing `text`. */
  message(text: string | RegExp): Locator {
    return this.page.locator('#messages > .message:not(.ephemeral)', { hasText: text }).last();
  }

  ephemeral(text: string | RegExp): Locator {
    return this.page.locator('.message.ephemeral', { hasText: text }).last();
  }

  /** Clicks `label` on the message holding `text`; with a confirm dialog, answers it with `confirm` (its button label). */
  async clickOnMessage(text: string | RegExp, label: string, confirm?: string): Promise<void> {
    await this.message(text).locator('.bk-button', { hasText: label }).click();
    if (confirm) await this.page.locator('#confirm-overlay:not([hidden]) [data-confirm="yes"]', { hasText: confirm }).click();
  }

  /** A field of the open modal, found by its label. */
  modalField(label: string): Locator {
    return this.page.locator('#modal .bk-input-block', { hasText: label }).locator('input, textarea, select');
  }

  async submitModal(): Promise<void> {
    await this.page.click('#modal [data-modal="submit"]');
  }

  /** The Targets panel's line for the PostgreSQL role or the webhook. */
  target(which: 'postgres' | 'webhook'): Locator {
    return this.page.locator(`#target-${which}`);
  }
}
