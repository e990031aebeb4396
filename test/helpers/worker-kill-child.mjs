// A server in its own process whose inference workers are killed over and over while one model's
// batches fail inside ONNX Runtime. Exits 0 when every round was answered; a native abort kills
// the process with SIGABRT instead, which is what the parent watches for.
// Usage: node worker-kill-child.mjs <repoDir> <rounds> <mode: terminate|error>
import { loadConfig } from '../../dist/src/config.js';
import { startServer } from '../../dist/src/server.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';

const [repoDir, roundsArg, mode = 'terminate'] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 6);
// A request unanswered after this counts as status 0 (hung).
const timeoutMs = 10_000;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-kill-'));
const config = loadConfig({ env: { SIGHTLINE_PORT: '0', SIGHTLINE_DATA_DIR: dataDir, SIGHTLINE_MODELS_DIR: repoDir } });
const server = await startServer(config, { logger: pino({ level: 'silent' }) });
await server.modelsLoaded;
const bad = readFileSync(path.join(repoDir, 'bad.png'));
const good = readFileSync(path.join(repoDir, 'good.png'));
const post = (model, body) =>
  fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body, headers: { 'content-type': 'image/png' }, signal: AbortSignal.timeout(timeoutMs) })
    .then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    })
    .catch(() => 0);

const statuses = new Map();
for (let round = 0; round < rounds; round++) {
  const load = [];
  for (let i = 0; i < 24; i++) load.push(post('fail', bad), post('cls', good));
  // Kill every worker of both models a few times while batches run (failing ones on `fail`).
  for (let kill = 0; kill < 4; kill++) {
    await new Promise((r) => setTimeout(r, 2 + ((round * 7 + kill * 13) % 23)));
    for (const name of ['fail', 'cls']) {
      for (const worker of server.models.serving(name).pool.threads) {
        if (mode === 'error') worker.emit('error', new Error('worker crashed'));
        else void worker.terminate();
      }
    }
  }
  for (const s of await Promise.all(load)) statuses.set(s, (statuses.get(s) ?? 0) + 1);
}
// After the storm both models answer again.
const after = [await post('cls', good), await post('fail', bad)];
process.stdout.write(JSON.stringify({ statuses: Object.fromEntries(statuses), after }) + '\n');
await server.close();
process.exit(0);
