import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { Route } from '../../dist/src/http/router.js';
import { uiRoutes } from '../../dist/src/http/ui/routes.js';
import { startTestServer } from './server.js';

/** Debian's chromium package; CI installs it (see .ci/run). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether browser suites can run. Without chromium they are skipped locally with a message; in CI
 * (CI=true) a missing browser fails the run instead, so the suites can never silently vanish.
 */
export function browserAvailability(): { available: true } | { available: false; reason: string } {
  if (existsSync(CHROMIUM_PATH)) return { available: true };
  const reason = `${CHROMIUM_PATH} is not installed; browser tests skipped (apt-get install chromium to run them)`;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason.split(';')[0]}: install chromium (.ci/run does)`);
  console.warn(reason);
  return { available: false, reason };
}

/** A headless chromium with a fresh, throwaway profile (playwright creates and removes its user-data dir). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 60_000 });
}

/**
 * The console's routes for a test server, or none once the server registers them itself
 * (registering them twice would be refused). Decided by asking a bare server for the page.
 */
export async function consoleRoutes(): Promise<Route[]> {
  const probe = await startTestServer();
  try {
    const res = await fetch(`${probe.url}/`);
    await res.arrayBuffer();
    return res.status === 404 ? uiRoutes() : [];
  } finally {
    await probe.close();
  }
}
