// The schema explorer in a real browser: loads with no request leaving this machine, runs a query.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, type Platform } from './launcher';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CITADEL_REQUIRE_BROWSER === '1') throw new Error(`CITADEL_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}`);
  console.warn(`explorer browser test not run: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}

describe.skipIf(!hasChromium)('explorer in headless Chromium', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await launch();
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('loads from the gateway alone and shows a query result', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const leaving: string[] = [];
      page.on('request', (request) => {
        const url = new URL(request.url());
        const local = ['127.0.0.1', 'localhost'].includes(url.hostname) || ['data:', 'blob:'].includes(url.protocol);
        if (!local) leaving.push(request.url());
      });
      await page.goto(`${platform.gatewayUrl}/?query=${encodeURIComponent('{ __typename }')}`);
      await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });
      await page.click('.graphiql-execute-button');
      const result = page.locator('.result-window').first();
      await expect.poll(() => result.innerText(), { timeout: 15_000 }).toMatch(/"__typename":\s*"Query"/);
      await expect(page.locator('text=Headers').first().isVisible()).resolves.toBe(true);
      expect(leaving).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
