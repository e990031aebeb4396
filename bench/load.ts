import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface LoadResult {
  /** Requests answered 2xx per second: refusals and errors are not throughput. */
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
  /** CPU the load generator used, as a fraction of one core. */
  loadGenCpu: number;
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  body?: Buffer;
  /** A new body for every request (instead of `body`), e.g. rows that must differ to be stored. */
  bodyFactory?: () => string;
  headers?: Record<string, string>;
  connections: number;
  durationSec: number;
  pipelining?: number;
  /** Cap on requests per second across all connections (for latency at a fixed load). */
  overallRate?: number;
  /** autocannon worker threads (0: run in this thread). */
  workers?: number;
}

/** Runs autocannon for a fixed duration and reports throughput, latency and its own CPU use. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    ...(options.body ? { body: options.body } : {}),
    ...(options.bodyFactory ? { requests: [{ setupRequest: (req: object) => ({ ...req, body: options.bodyFactory!() }) }] } : {}),
    headers: options.headers ?? {},
    connections: options.connections,
    duration: options.durationSec,
    pipelining: options.pipelining ?? 1,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    ...(options.workers ? { workers: options.workers } : {}),
  });
  const wallUs = Number(process.hrtime.bigint() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    requestsPerSec: result['2xx'] / Math.max(1e-9, result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
    loadGenCpu: (cpu.user + cpu.system) / wallUs,
  };
}

/** Starts a server process that prints its port on the first stdout line. */
export async function startTarget(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ port: number; child: ChildProcess; cpuSeconds(): number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => /^\d+$/.test(l.trim()));
      if (line) resolve(Number(line.trim()));
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    port,
    child,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** utime + stime of a process from /proc, in seconds (Linux). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process from /proc/PID/status (VmRSS, Linux), in bytes; NaN when unreadable. */
export function processRssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
