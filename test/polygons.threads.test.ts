import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { findPolygons, findPolygonsAsync, polygonImplementation } from '../dist/src/polygons/index.js';
import { blobMask, noiseMask } from './helpers/masks.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const indexUrl = new URL('../dist/src/polygons/index.js', import.meta.url).href;

/** Runs an ES module in a fresh node process and returns its stdout. */
function runNode(code: string, env: Record<string, string | undefined>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sightline-polygons-')), 'probe.mjs');
  writeFileSync(file, code);
  const childEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key];
  return execFileSync(process.execPath, [file], { cwd: root, env: childEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Region count and a checksum of every coordinate, to compare large results quickly. */
function digest(regions: { outer: Float64Array; holes: Float64Array[]; area: number }[]): [number, number, number] {
  let sum = 0;
  let area = 0;
  for (const r of regions) {
    area += r.area;
    for (const ring of [r.outer, ...r.holes]) for (let i = 0; i < ring.length; i++) sum += ring[i] * ((i % 7) + 1);
  }
  return [regions.length, sum, area];
}

describe('threads and implementation selection', () => {
  it('uses the addon by default', () => {
    expect(polygonImplementation()).toBe('native');
  });

  it('loads the addon in several worker threads at once, with the same results', async () => {
    const data = blobMask(300, 200, 20, 3);
    const expected = findPolygons({ kind: 'mask', data, width: 300, height: 200 }, { epsilon: 1 });
    const code = `
      import { parentPort, workerData } from 'node:worker_threads';
      const { findPolygons, polygonImplementation } = await import(workerData.indexUrl);
      const regions = findPolygons({ kind: 'mask', data: workerData.data, width: 300, height: 200 }, { epsilon: 1 });
      parentPort.postMessage({ implementation: polygonImplementation(), regions });
    `;
    const runs = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ implementation: string; regions: unknown }>((resolve, reject) => {
            const worker = new Worker(code, { eval: true, workerData: { indexUrl, data } });
            worker.once('message', (message) => {
              resolve(message);
              void worker.terminate();
            });
            worker.once('error', reject);
          }),
      ),
    );
    for (const run of runs) {
      expect(run.implementation).toBe('native');
      expect(run.regions).toEqual(expected);
    }
  });

  it('findPolygonsAsync returns at once and lets the event loop run while it works', async () => {
    const data = noiseMask(2048, 2048, 0.5, 5);
    const input = { kind: 'mask' as const, data, width: 2048, height: 2048 };
    const expected = digest(findPolygons(input));
    for (let i = 0; i < 4; i++) {
      const pending = findPolygonsAsync(input);
      let loopTurned = false;
      setImmediate(() => {
        loopTurned = true;
      });
      const regions = await pending;
      expect(loopTurned).toBe(true);
      expect(digest(regions)).toEqual(expected);
    }
    // A call that traced on the calling thread would settle in a microtask, before setImmediate
    // runs; how long the call blocks is measured by bench/polygons.ts (polygons.async_block_budget).
  });

  it('keeps inputs alive until the work is done, with many calls in flight', async () => {
    const calls = Array.from({ length: 16 }, (_, i) => findPolygonsAsync({ kind: 'mask', data: blobMask(200, 200, 10, i), width: 200, height: 200 }));
    const results = await Promise.all(calls);
    results.forEach((regions, i) => {
      expect(regions).toEqual(findPolygons({ kind: 'mask', data: blobMask(200, 200, 10, i), width: 200, height: 200 }));
    });
  });

  it('usePolygonImplementation selects the implementation, worker threads started afterwards inherit it, the fallback has an async variant', () => {
    const workerCode = `import(${JSON.stringify(indexUrl)}).then((m) => require('node:worker_threads').parentPort.postMessage(m.polygonImplementation()));`;
    const probe = (choice: string | undefined) => `
      const { Worker } = await import('node:worker_threads');
      const { findPolygons, findPolygonsAsync, polygonImplementation, usePolygonImplementation } = await import(${JSON.stringify(indexUrl)});
      ${choice === undefined ? '' : `usePolygonImplementation(${JSON.stringify(choice)});`}
      const input = { kind: 'mask', data: Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 1]), width: 3, height: 3 };
      const sync = findPolygons(input);
      const async = await findPolygonsAsync(input);
      const worker = new Worker(${JSON.stringify(workerCode)}, { eval: true });
      const inWorker = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
      await worker.terminate();
      const same = JSON.stringify(sync) === JSON.stringify(async);
      console.log(JSON.stringify({ implementation: polygonImplementation(), inWorker, same, outer: Array.from(sync[0].outer) }));
    `;
    // The environment variable is read by the config only, never by the polygons module.
    expect(JSON.parse(runNode(probe('typescript'), { SIGHTLINE_POLYGONS: 'native' }))).toEqual({
      implementation: 'typescript',
      inWorker: 'typescript',
      same: true,
      outer: [0, 0, 2, 2, 2, 1, 1, 0],
    });
    expect(JSON.parse(runNode(probe(undefined), { SIGHTLINE_POLYGONS: 'typescript' }))).toMatchObject({ implementation: 'native', inWorker: 'native' });
    expect(JSON.parse(runNode(probe('auto'), {}))).toMatchObject({ implementation: 'native', inWorker: 'native' });
    expect(JSON.parse(runNode(probe('native'), {}))).toMatchObject({ implementation: 'native', inWorker: 'native' });
    expect(() => runNode(probe('fast'), {})).toThrow(/polygon implementation must be one of auto, native, typescript, got "fast"/);
  });
});
