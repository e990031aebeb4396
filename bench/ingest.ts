import autocannon from 'autocannon';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { createScratchDatabase, type ScratchDatabase } from '../src/store/scratch-database.js';
import { type FanoutResult, measureFanout } from './fanout-latency.js';
import { processCpuSeconds } from './load.js';
import { writeResults } from './results-file.js';

/**
 * Camera ingestion: POST /v1/detections with a 50 KiB PNG snapshot (base64 in JSON, every one
 * different so each is really stored) on SQLite and on MariaDB, with group commit on (the
 * default 2 ms window) and off (one transaction per write). Then WebSocket fan-out: 1,000
 * subscribers on `detections`, time from sending a POST to the last subscriber's receipt.
 * The server runs in its own process; autocannon and the WebSocket clients run here.
 *
 * For reference, the same runs without a snapshot show what the database alone sustains (each
 * snapshot is a new file: written, fsynced, renamed, its directory fsynced, outside the group).
 *
 * BENCH_DURATION (seconds per run with snapshots, default 5; runs without take 3/5 of it),
 * BENCH_CONNECTIONS (default 32),
 * BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/test; runs are skipped when it does not
 * answer), BENCH_SUBSCRIBERS (default 1000), BENCH_FANOUT_EVENTS (default 200).
 */
const durationSec = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const mysqlUrl = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const fanoutEvents = Number(process.env.BENCH_FANOUT_EVENTS ?? 200);
const SNAPSHOT_BYTES = 50 * 1024;
const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Target {
  base: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `sightline serve` in a child process, logging warnings only (no per-request access log). */
async function startServer(flags: string[]): Promise<Target> {
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIGHTLINE_')));
  const child = spawn(process.execPath, [main, 'serve', '--port', String(port), '--log-level', 'warn', ...flags], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('server did not start within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A PNG of noise close to 50 KiB: noise does not compress, so the size is what was asked for. */
async function snapshot(): Promise<Buffer> {
  const side = Math.round(Math.sqrt(SNAPSHOT_BYTES / 3));
  return sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/**
 * Request bodies with a different image each time, each a valid PNG (the server decodes every
 * snapshot it stores): a tEXt chunk after IHDR carries a counter, with its CRC. The signature,
 * IHDR, that chunk and the first byte after it make 60 bytes, a whole number of base64 groups, so
 * only their 80 characters are encoded per request and the rest of the base64 is reused.
 */
function bodyFactory(png: Buffer): () => string {
  const IHDR_END = 8 + 25;
  const DIGITS = 12;
  const keyword = Buffer.from('n\0', 'latin1');
  const chunkBytes = 12 + keyword.length + DIGITS;
  const headBytes = IHDR_END + chunkBytes + 1;
  if (headBytes % 3 !== 0) throw new Error('the varying head must be a whole number of base64 groups');
  const head = Buffer.alloc(headBytes);
  png.copy(head, 0, 0, IHDR_END);
  head.writeUInt32BE(keyword.length + DIGITS, IHDR_END);
  head.write('tEXt', IHDR_END + 4, 'latin1');
  keyword.copy(head, IHDR_END + 8);
  png.copy(head, headBytes - 1, IHDR_END, IHDR_END + 1);
  const tail = png.subarray(IHDR_END + 1).toString('base64');
  let n = Math.floor(Math.random() * 2 ** 32);
  return () => {
    n++;
    const text = IHDR_END + 8 + keyword.length;
    head.write(String(n % 10 ** DIGITS).padStart(DIGITS, '0'), text, 'latin1');
    head.writeUInt32BE(crc32(head.subarray(IHDR_END + 4, text + DIGITS)), text + DIGITS);
    const fields = `"cameraId":"cam-${n % 16}","trackId":"t-${n}","label":"car","confidence":0.9,"box":[1,2,30,40],"detectedAt":${Date.now()}`;
    return `{${fields},"image":"${head.toString('base64')}${tail}"}`;
  };
}

/** The same detection without a snapshot: what the database alone sustains. */
function rowOnlyBody(): () => string {
  let n = 0;
  return () => `{"cameraId":"cam-${++n % 16}","trackId":"t-${n}","label":"car","confidence":0.9,"box":[1,2,30,40],"detectedAt":${Date.now()}}`;
}

interface IngestResult {
  detectionsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  acknowledged: number;
  errors: number;
  non2xx: number;
  serverCpu: number;
}

async function ingest(base: string, makeBody: () => string, seconds: number, child: ChildProcess): Promise<IngestResult> {
  const cpu0 = processCpuSeconds(child.pid!);
  const t0 = performance.now();
  const result = await autocannon({
    url: `${base}/v1/detections`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/v1/detections',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: makeBody() }),
      },
    ],
  });
  const wall = (performance.now() - t0) / 1000;
  return {
    // One detection per request.
    detectionsPerSec: result['2xx'] / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    acknowledged: result['2xx'],
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    serverCpu: (processCpuSeconds(child.pid!) - cpu0) / wall,
  };
}

function report(what: string, mode: string, r: IngestResult): void {
  console.log(
    `${what.padEnd(17)} group commit ${mode.padEnd(3)} ${r.detectionsPerSec.toFixed(0).padStart(6)} detections/s  p50 ` +
      `${String(r.p50Ms).padStart(4)} ms  p99 ${String(r.p99Ms).padStart(4)} ms  errors ${r.errors + r.non2xx}  server CPU ${(r.serverCpu * 100).toFixed(0)}%`,
  );
}

const png = await snapshot();
const makeBody = bodyFactory(png);
console.log(`snapshot ${png.length} bytes PNG, ${makeBody().length} bytes JSON body; ${connections} connections, ${durationSec} s per run`);

const ingestion: Record<string, Record<string, IngestResult>> = {};
const rowsOnly: Record<string, Record<string, IngestResult>> = {};
const skipped: string[] = [];

for (const database of ['sqlite', 'mariadb'] as const) {
  let scratch: ScratchDatabase | undefined;
  if (database === 'mariadb') {
    try {
      scratch = await createScratchDatabase(mysqlUrl, 'sightline_bench_', 3000);
    } catch (err) {
      skipped.push(`mariadb: ${(err as Error).message}`);
      console.log(`skipping MariaDB: ${(err as Error).message}`);
      continue;
    }
  }
  ingestion[database] = {};
  rowsOnly[database] = {};
  for (const mode of ['on', 'off'] as const) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-'));
    const flags = ['--data-dir', dataDir, '--models-dir', dataDir, '--group-commit-ms', mode === 'on' ? '2' : '0'];
    if (scratch) flags.push('--database-url', scratch.url);
    const server = await startServer(flags);
    try {
      await ingest(server.base, makeBody, 1, server.child); // warm-up
      const r = await ingest(server.base, makeBody, durationSec, server.child);
      ingestion[database][mode] = r;
      report(`${database} snapshot`, mode, r);
      const rows = await ingest(server.base, rowOnlyBody(), Math.max(1, Math.round((durationSec * 3) / 5)), server.child);
      rowsOnly[database][mode] = rows;
      report(`${database} no image`, mode, rows);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  await scratch?.drop();
}

/** WebSocket fan-out on one server with no model. */
async function fanout(): Promise<FanoutResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-'));
  const server = await startServer(['--data-dir', dataDir, '--models-dir', dataDir]);
  try {
    const socketUrl = `${server.base.replace('http://', 'ws://')}/v1/ws`;
    return await measureFanout({ socketUrls: [socketUrl], subscribers, postUrl: `${server.base}/v1/detections`, events: fanoutEvents });
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fan = await fanout();
const round = (x: number) => Math.round(x * 100) / 100;
console.log(
  `fan-out to ${fan.subscribers} subscribers: POST to last receipt p50 ${round(fan.p50Ms)} ms, p99 ${round(fan.p99Ms)} ms, max ` +
    `${round(fan.maxMs)} ms (POST answered p50 ${round(fan.postP50Ms)} ms; ${fan.events} events)`,
);

const ratios: Record<string, number> = {};
for (const [database, modes] of Object.entries(ingestion)) {
  if (modes.on && modes.off) ratios[`ingest.${database}.group_commit_on_over_off`] = modes.on.detectionsPerSec / modes.off.detectionsPerSec;
}
for (const [k, v] of Object.entries(ratios)) console.log(`${k} = ${v.toFixed(2)}`);
const results = { ratios, snapshotBytes: png.length, connections, durationSec, ingestion, rowsOnly, fanout: fan, ...(skipped.length > 0 ? { skipped } : {}) };
console.log(`wrote ${writeResults('ingest', results)}`);
