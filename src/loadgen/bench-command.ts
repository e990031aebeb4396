import { readFileSync, writeFileSync } from 'node:fs';
import { commandOptions } from '../command-arguments.js';
import { sniffImage } from '../imaging/sniff.js';
import { BENCH_USAGE, parseBenchArgs, type BenchOptions } from './bench-options.js';
import { budgetLines, resultsTable } from './bench-report.js';
import { runStep, type StepLoad, type StepResult } from './bench-step.js';
import { rawRequest, SocketPool } from './connection-pool.js';
import { closedLoop, poissonLoad } from './load-loops.js';
import { ProgressLine, type ProgressStream } from './progress-line.js';

export interface BenchIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  env?: NodeJS.ProcessEnv;
}

/** Exit statuses: budgets met, a budget missed, the benchmark could not run as asked. */
export const BENCH_EXIT = { passed: 0, missed: 1, usage: 2 } as const;

class BenchSetupError extends Error {}

/** The request every client sends, and where it goes. */
function target(options: BenchOptions) {
  let image: Buffer;
  try {
    image = readFileSync(options.image);
  } catch (err) {
    throw new BenchSetupError(`--image: cannot read ${options.image}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (image.length === 0) throw new BenchSetupError(`--image: ${options.image} is empty`);
  // The server reads the type from the bytes too; a wrong header would only earn a 415.
  const mediaType = sniffImage(image)?.mediaType ?? 'application/octet-stream';
  const { url } = options;
  const path = `${url.pathname.replace(/\/+$/, '')}/v1/models/${encodeURIComponent(options.model)}/predict`;
  const headers: Record<string, string> = options.apiKey ? { 'x-api-key': options.apiKey } : {};
  const request = rawRequest('POST', path, url.host, image, mediaType, headers);
  // URL keeps IPv6 literals in brackets; sockets want them bare.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { image, mediaType, path, request, hostname, port: Number(url.port || 80) };
}

/** `sightline bench`: returns the exit status (see BENCH_EXIT). */
export async function runBenchCommand(argv: readonly string[], io: BenchIo): Promise<number> {
  const commandStart = { command: 'bench', usage: BENCH_USAGE, exit: BENCH_EXIT, stdout: io.stdout, stderr: io.stderr };
  const parsed = commandOptions(argv, commandStart, () => parseBenchArgs(argv, io.env ?? process.env));
  if ('exit' in parsed) return parsed.exit;
  const { options } = parsed;
  let t: ReturnType<typeof target>;
  try {
    t = target(options);
  } catch (err) {
    if (!(err instanceof BenchSetupError)) throw err;
    io.stderr.write(`sightline bench: ${err.message}\n`);
    return BENCH_EXIT.usage;
  }

  const maxClients = Math.max(1, ...options.concurrency);
  const pool = new SocketPool(t.hostname, t.port, { maxConnections: Math.max(1024, maxClients), keepBodies: true, timeoutMs: options.timeoutSec * 1000 });
  const progress = new ProgressLine(io.stderr);
  const startedAt = new Date().toISOString();
  try {
    // One request first: a wrong URL, model or image ends the run here, with the server's word.
    const probe = await pool.request(t.request);
    if (probe.status !== 200) {
      const why =
        probe.status === 0
          ? `no answer from ${options.url.origin} (connection refused, reset or timed out after ${options.timeoutSec}s)`
          : `POST ${t.path} answered ${probe.status}: ${(probe.body?.toString('utf8') ?? '').slice(0, 500)}`;
      io.stderr.write(`sightline bench: ${why}\n`);
      return BENCH_EXIT.usage;
    }

    const loads: StepLoad[] = options.rate === undefined ? options.concurrency.map((concurrency) => ({ concurrency })) : [{ rate: options.rate }];
    const budgets = { p99Ms: options.p99Ms, minThroughput: options.minThroughput, maxErrorRate: options.maxErrorRate };
    if (options.warmupSec > 0) {
      progress.update(`warm-up ${options.warmupSec}s`);
      const first = loads[0];
      if (first.rate === undefined) await closedLoop(pool, t.request, first.concurrency, options.warmupSec * 1000);
      else await poissonLoad(pool, t.request, () => first.rate, options.warmupSec * 1000);
      progress.clear();
    }
    const steps: StepResult[] = [];
    for (const load of loads) steps.push(await runStep(pool, t.request, load, options.durationSec, budgets, progress));

    const passed = steps.every((s) => s.budget.passed);
    const mode = options.rate === undefined ? 'closed loop' : 'open loop (Poisson arrivals)';
    io.stdout.write(
      [
        `sightline bench  ${options.url.href}  model ${options.model}  image ${options.image} (${t.image.length} bytes, ${t.mediaType})  ` +
          `${mode}, ${options.durationSec}s per step`,
        '',
        resultsTable(steps),
        '',
        "latencies in ms; queue, infer and server: the server's own latencyMs; batch: mean batch size",
        ...budgetLines(steps, budgets),
        '',
      ].join('\n'),
    );
    if (options.json !== undefined) {
      const report = {
        tool: 'sightline bench',
        startedAt,
        url: options.url.href,
        model: options.model,
        image: { path: options.image, bytes: t.image.length, mediaType: t.mediaType },
        mode: options.rate === undefined ? 'closed' : 'open',
        durationSec: options.durationSec,
        warmupSec: options.warmupSec,
        budgets: { p99Ms: options.p99Ms ?? null, minThroughput: options.minThroughput ?? null, maxErrorRate: options.maxErrorRate },
        passed,
        steps,
      };
      try {
        writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
      } catch (err) {
        io.stderr.write(`sightline bench: --json: cannot write ${options.json}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
        return BENCH_EXIT.usage;
      }
    }
    return passed ? BENCH_EXIT.passed : BENCH_EXIT.missed;
  } finally {
    progress.clear();
    pool.close();
  }
}
