import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/server.js';

const run = promisify(execFile);

/**
 * @scarf/scarf (a dependency of swagger-ui-dist) sends install details to a third party from its
 * postinstall script. Its own code is run here as npm runs it (INIT_CWD = the project root), with
 * none of its environment switches set and the network replaced by a recorder: it must opt out on
 * the strength of package.json alone.
 */
describe('install-time analytics', () => {
  it("@scarf/scarf's postinstall opts out from package.json alone and sends nothing", async () => {
    const script = `
      const https = require('https');
      const sent = [];
      https.request = (options) => { sent.push(options.hostname || options.host || String(options)); throw new Error('network disabled in this check'); };
      const report = require(${JSON.stringify(path.join(repoRoot, 'node_modules/@scarf/scarf/report.js'))});
      report.reportPostInstall().then(
        () => console.log(JSON.stringify({ outcome: 'reported', sent })),
        (err) => console.log(JSON.stringify({ outcome: err.message, sent })),
      );
    `;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, INIT_CWD: repoRoot };
    const { stdout } = await run(process.execPath, ['-e', script], { env, cwd: path.join(repoRoot, 'node_modules/@scarf/scarf') });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ outcome: 'User has opted out', sent: [] });
  });

  it('package.json keeps its install script from running where npm honours allowScripts', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
    expect(pkg.allowScripts['@scarf/scarf']).toBe(false);
  });
});
