import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import type * as OpenCv from '@techstark/opencv-js';
import { Bench } from 'tinybench';

import { findPolygons, findPolygonsAsync, type PolygonInput, polygonImplementation, type Region } from '../src/polygons/index.js';
import { findPolygonsPacked } from '../src/polygons/reference.js';
import { unpackRegions } from '../src/polygons/unpack.js';
import { blobMask, random } from '../test/helpers/masks.js';
import { writeResults } from './results-file.js';

/**
 * Mask → polygons: the native addon against opencv.js (findContours RETR_CCOMP /
 * CHAIN_APPROX_SIMPLE plus approxPolyDP on every contour, points read out: the same work) and the
 * TypeScript implementation, on 512², 1024² and 2048² masks, same run. Also the main-thread time
 * findPolygonsAsync spends before it returns its promise.
 *
 *   npx tsc -p tsconfig.json && npm run bench:polygons
 *
 * Writes bench/results/polygons.json; ratios:
 *   polygons.addon_over_opencv.<size>  opencv.js time / addon time, the worse of the two mask kinds
 *   polygons.async_block_budget        0.1 ms / median synchronous time of one findPolygonsAsync call
 *                                      (settled loop, worse of 1024² and 2048² noisy masks)
 */

const EPSILON = 1; // Douglas–Peucker tolerance, pixels, for both sides
/** BENCH_TIME_SCALE scales the time each comparison runs (the suite of bench:check runs shorter). */
const timeScale = Number(process.env.BENCH_TIME_SCALE ?? 1);
const SIZES = [512, 1024, 2048] as const;

type Cv = typeof OpenCv;

/**
 * The opencv.js module object is thenable and resolves to itself, so it must never be awaited or
 * returned from an async function (promise adoption would loop forever): wait for the runtime hook
 * and hand it back wrapped.
 */
async function loadOpencv(): Promise<{ cv: Cv }> {
  const cv = createRequire(import.meta.url)('@techstark/opencv-js') as Cv;
  await new Promise<void>((resolve) => {
    if (cv.Mat) resolve();
    else cv.onRuntimeInitialized = () => resolve();
  });
  return { cv };
}

/** Blobs with a sprinkle of flipped pixels (0.5 %): what a real segmentation output looks like at its worst. */
function noisyMask(size: number, seed: number): Uint8Array {
  const data = blobMask(size, size, 24, seed);
  const rand = random(seed + 1);
  for (let i = 0; i < data.length; i++) if (rand() < 0.005) data[i] = data[i] ? 0 : 1;
  return data;
}

function opencvPolygons(cv: Cv, data: Uint8Array, size: number): Int32Array[] {
  const src = cv.matFromArray(size, size, cv.CV_8UC1, data);
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  const out: Int32Array[] = [];
  try {
    // opencv.js declares its enum constants as any; they are ints.
    cv.findContours(src, contours, hierarchy, cv.RETR_CCOMP as number, cv.CHAIN_APPROX_SIMPLE as number);
    const approx = new cv.Mat();
    for (let i = 0; i < contours.size(); i++) {
      const contour = contours.get(i);
      cv.approxPolyDP(contour, approx, EPSILON, true);
      out.push(approx.data32S.slice());
      contour.delete();
    }
    approx.delete();
  } finally {
    src.delete();
    contours.delete();
    hierarchy.delete();
  }
  return out;
}

function ringCount(regions: Region[]): number {
  return regions.reduce((n, r) => n + 1 + r.holes.length, 0);
}

async function main(): Promise<void> {
  if (polygonImplementation() !== 'native') {
    throw new Error('the native addon did not load (build it with node-gyp rebuild); nothing to compare');
  }
  const { cv } = await loadOpencv();
  const rows: Record<string, string | number>[] = [];
  const details: Record<string, Record<string, number>> = {};
  const ratios: Record<string, number> = {};

  for (const size of SIZES) {
    let worst = Infinity;
    for (const [kind, data] of [
      ['blobs', blobMask(size, size, 24, size)],
      ['noisy', noisyMask(size, size + 7)],
    ] as const) {
      const input: PolygonInput = { kind: 'mask', data, width: size, height: size };
      const addonRegions = findPolygons(input, { epsilon: EPSILON });
      const cvRings = opencvPolygons(cv, data, size);
      if (cvRings.length !== ringCount(addonRegions)) {
        throw new Error(`${kind} ${size}²: addon traced ${ringCount(addonRegions)} rings, opencv.js ${cvRings.length}`);
      }
      const slow = size === 2048 && kind === 'noisy';
      const bench = new Bench({ time: (slow ? 1500 : 800) * timeScale, iterations: 5, warmupIterations: 2, warmupTime: 0 });
      bench
        .add('addon', () => {
          findPolygons(input, { epsilon: EPSILON });
        })
        .add('opencv.js', () => {
          opencvPolygons(cv, data, size);
        })
        .add('typescript', () => {
          unpackRegions(findPolygonsPacked(input, { epsilon: EPSILON }));
        });
      await bench.run();
      const mean = (name: string) => bench.tasks.find((t) => t.name === name)!.result!.latency.mean;
      const [addon, opencv, typescript] = [mean('addon'), mean('opencv.js'), mean('typescript')];
      worst = Math.min(worst, opencv / addon);
      details[`${kind}.${size}`] = {
        rings: cvRings.length,
        addonMs: addon,
        opencvMs: opencv,
        typescriptMs: typescript,
        opencvOverAddon: opencv / addon,
        typescriptOverAddon: typescript / addon,
      };
      rows.push({
        mask: `${kind} ${size}²`,
        rings: cvRings.length,
        'addon ms': +addon.toFixed(3),
        'opencv.js ms': +opencv.toFixed(3),
        'typescript ms': +typescript.toFixed(3),
        'opencv / addon': +(opencv / addon).toFixed(2),
        'typescript / addon': +(typescript / addon).toFixed(2),
      });
    }
    if (size !== 512) ratios[`polygons.addon_over_opencv.${size}`] = worst;
  }
  console.table(rows);

  // Main-thread blocking of the async variant: time from the call to its return (the work runs in
  // libuv's pool; only validation and queueing happen here). Back to back, a call also pays for
  // the previous call's aftermath: unpacking tens of thousands of regions leaves V8 concurrent GC
  // work that competes with the main thread and the pool thread for the two cores, and any busy
  // host adds scheduler delays. So each call is timed once after the loop has settled for 10 ms
  // (the budget uses the median of those) and once back to back; mean, p90 and p99 of both are
  // recorded, with a plain libuv pool job (fs.promises.stat) timed the same way as a control.
  const blocking: Record<string, number> = {};
  const table: Record<string, string | number>[] = [];
  let worstMedian = 0;
  const probes: [string, () => Promise<unknown>][] = [];
  for (const size of [1024, 2048]) {
    const input: PolygonInput = { kind: 'mask', data: noisyMask(size, 3), width: size, height: size };
    probes.push([`findPolygonsAsync.${size}`, () => findPolygonsAsync(input, { epsilon: EPSILON })]);
  }
  probes.push(['fsStatControl', () => stat(fileURLToPath(import.meta.url))]);
  for (const [name, call] of probes) {
    for (const settled of [true, false]) {
      const samples: number[] = [];
      for (let i = 0; i < 170; i++) {
        if (settled) await sleep(10);
        const started = performance.now();
        const pending = call();
        const spent = performance.now() - started;
        await pending;
        if (i >= 20) samples.push(spent); // the first calls include lazy initialisation
      }
      samples.sort((a, b) => a - b);
      const stats = {
        mean: samples.reduce((sum, v) => sum + v, 0) / samples.length,
        p50: samples[Math.floor(samples.length * 0.5)],
        p90: samples[Math.floor(samples.length * 0.9)],
        p99: samples[Math.floor(samples.length * 0.99)],
        max: samples[samples.length - 1],
      };
      const key = `${name}.${settled ? 'settled' : 'backToBack'}`;
      for (const [stat, value] of Object.entries(stats)) blocking[`${key}.${stat}`] = value;
      if (settled && name !== 'fsStatControl') worstMedian = Math.max(worstMedian, stats.p50);
      table.push({
        call: name,
        timing: settled ? 'settled' : 'back to back',
        ...Object.fromEntries(Object.entries(stats).map(([k, v]) => [`${k} ms`, +v.toFixed(4)])),
      });
    }
  }
  console.table(table);
  ratios['polygons.async_block_budget'] = 0.1 / worstMedian;

  const file = writeResults('polygons', { ratios, epsilon: EPSILON, results: details, asyncBlockingMs: blocking });
  for (const [name, value] of Object.entries(ratios)) console.log(`${name} = ${value.toFixed(2)}`);
  console.log(`wrote ${file}`);
}

await main();
