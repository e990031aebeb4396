import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { createScratchDatabase } from '../src/store/scratch-database.js';
import { type FanoutResult, measureFanout } from './fanout-latency.js';
import { processCpuSeconds, runLoad, type LoadResult } from './load.js';
import { type ReplicaSet, startReplicaSet, waitForAllReplicas } from './replica-set.js';
import { writeResults } from './results-file.js';

/**
 * Scale-out: 1, 2 and 3 replicas behind HAProxy on one MariaDB database, events through NATS, blobs in
 * the database. For each size: ingestion (POST /v1/detections, no snapshot) and predict (direction
 * classifier, 192×48 PNG) through the balancer, with the server CPU each request cost (all replicas
 * together, from /proc); then the fan-out latency: subscribers spread over the replicas, one POST at a
 * time through the balancer, timed until the last subscriber has the event.
 *
 * On this 2-core machine the replicas, HAProxy, MariaDB, NATS and the load generator share the same
 * cores, so throughput flattens: the figures say what a replica costs, not what more machines give.
 *
 * BENCH_DURATION (seconds per run, default 5), BENCH_CONNECTIONS (default 16), BENCH_REPLICAS (default
 * 1,2,3), BENCH_SUBSCRIBERS (per size, default 30), BENCH_FANOUT_EVENTS (default 200),
 * BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/test), BENCH_NATS_URL (default nats://127.0.0.1:4222).
 */
const durationSec = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const sizes = (process.env.BENCH_REPLICAS ?? '1,2,3').split(',').map(Number);
const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 30);
const fanoutEvents = Number(process.env.BENCH_FANOUT_EVENTS ?? 200);
const mysqlUrl = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const natsUrl = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const modelsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

interface Throughput {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  /** Server CPU per answered request, all replicas together, in ms. */
  cpuMsPerRequest: number;
}

const round = (x: number) => Math.round(x * 100) / 100;

function replicasCpu(set: ReplicaSet): number {
  return set.replicas.reduce((sum, r) => sum + processCpuSeconds(r.child!.pid!), 0);
}

async function measure(set: ReplicaSet, options: Parameters<typeof runLoad>[0]): Promise<Throughput> {
  // A replica the balancer took out during the previous run (late health checks at saturation) must be back.
  await waitForAllReplicas(set.url, set.replicas, 30_000);
  const before = replicasCpu(set);
  const result: LoadResult = await runLoad(options);
  const cpu = replicasCpu(set) - before;
  const answered = result.requestsPerSec * durationSec;
  return {
    requestsPerSec: round(result.requestsPerSec),
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    failed: result.errors + result.non2xx,
    cpuMsPerRequest: round((cpu * 1000) / Math.max(1, answered)),
  };
}

const image = await sharp({ create: { width: 192, height: 48, channels: 3, background: { r: 240, g: 240, b: 240 } } })
  .composite([{ input: { text: { text: 'Invoice 2026', height: 30 } }, top: 9, left: 10 }])
  .png()
  .toBuffer();
let n = 0;
const detectionBody = () => `{"cameraId":"cam-${++n % 16}","trackId":"t-${n}","label":"car","confidence":0.9,"box":[1,2,30,40],"detectedAt":${Date.now()}}`;

const bySize: Record<string, { replicas: number; ingestion: Throughput; predict: Throughput; fanout: FanoutResult }> = {};
for (const size of sizes) {
  const database = await createScratchDatabase(mysqlUrl, 'sightline_bench_');
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-scale-out-'));
  let set: ReplicaSet | undefined;
  try {
    set = await startReplicaSet({
      replicas: size,
      workDir,
      logLevel: 'warn',
      env: {
        SIGHTLINE_DATABASE_URL: database.url,
        SIGHTLINE_BLOBS: 'database',
        SIGHTLINE_EVENTS_URL: natsUrl,
        SIGHTLINE_EVENTS_SUBJECT: `sightline.bench.${randomBytes(4).toString('hex')}`,
        SIGHTLINE_MODELS_DIR: modelsDir,
        SIGHTLINE_MODELS: 'text-direction',
      },
    });
    const ingestion = await measure(set, {
      url: `${set.url}/v1/detections`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      bodyFactory: detectionBody,
      connections,
      durationSec,
    });
    const predict = await measure(set, {
      url: `${set.url}/v1/models/text-direction/predict`,
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: image,
      connections,
      durationSec,
    });
    await waitForAllReplicas(set.url, set.replicas, 30_000);
    const fan = await measureFanout({
      socketUrls: set.replicas.map((r) => `${r.url.replace('http://', 'ws://')}/v1/ws`),
      subscribers,
      postUrl: `${set.url}/v1/detections`,
      events: fanoutEvents,
    });
    bySize[String(size)] = { replicas: size, ingestion, predict, fanout: fan };
    console.log(
      `${size} replica${size === 1 ? '' : 's'}: ingestion ${ingestion.requestsPerSec} detections/s (${ingestion.cpuMsPerRequest} ms CPU each), ` +
        `predict ${predict.requestsPerSec} req/s (${predict.cpuMsPerRequest} ms CPU each), fan-out to ${fan.subscribers} subscribers ` +
        `p50 ${round(fan.p50Ms)} ms, p99 ${round(fan.p99Ms)} ms`,
    );
  } finally {
    await set?.close();
    await database.drop().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
}

const one = bySize['1'];
const ratios: Record<string, number> = {};
if (one !== undefined) {
  for (const [size, r] of Object.entries(bySize)) {
    if (size === '1') continue;
    ratios[`scale_out.ingestion.${size}_over_1`] = round(r.ingestion.requestsPerSec / one.ingestion.requestsPerSec);
    ratios[`scale_out.predict.${size}_over_1`] = round(r.predict.requestsPerSec / one.predict.requestsPerSec);
    ratios[`scale_out.fanout_p50.${size}_over_1`] = round(r.fanout.p50Ms / one.fanout.p50Ms);
    ratios[`scale_out.fanout_p99.${size}_over_1`] = round(r.fanout.p99Ms / one.fanout.p99Ms);
  }
}
const file = writeResults('scale-out', { ratios, connections, durationSec, cores: os.availableParallelism(), bySize });
console.log(JSON.stringify(ratios), `→ ${file}`);
