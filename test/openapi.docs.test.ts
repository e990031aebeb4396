import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailability, launchBrowser } from './helpers/browser.js';
import { HTTP_METHODS, type OpenApiDoc } from './helpers/openapi.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const availability = browserAvailability();

describe.skipIf(!availability.available)(availability.available ? '/docs in chromium' : `/docs in chromium (${availability.reason})`, () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders every operation of the document, under the page policy, loading nothing from elsewhere', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDoc;
    const operations = Object.values(doc.paths).flatMap((item) => HTTP_METHODS.filter((m) => item[m] !== undefined));
    const page = await browser.newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    page.on('request', (req) => {
      if (!req.url().startsWith(server.url) && !req.url().startsWith('data:')) foreign.push(req.url());
    });
    await page.goto(`${server.url}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('.opblock').count()).toBe(operations.length);
    expect(await page.locator('.info .title').textContent()).toContain('sightline');
    // Swagger UI shows an error box when it cannot read or resolve the document.
    expect(await page.locator('.errors-wrapper').count()).toBe(0);
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});
