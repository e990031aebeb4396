/**
 * Several `sightline serve` processes behind Debian's HAProxy: how the scale-out settings are
 * deployed, small enough for one machine. The scale-out benchmark and tests both start theirs here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
export const HAPROXY = '/usr/sbin/haproxy';

/** A port nothing listens on now: replicas keep theirs across restarts, so HAProxy's list stays right. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers `status`; throws after `timeoutMs`. */
export async function waitForStatus(url: string, status: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.status === status) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${res?.status ?? 'no answer'})`);
    await sleep(100);
  }
}

export interface Replica {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  /** Stdout and stderr of every run of this replica so far. */
  output(): string;
  /** The running process, undefined before the first start. */
  readonly child: ChildProcess | undefined;
  /** Starts the process (again) on the same port and waits until /health/ready answers 200. */
  start(): Promise<void>;
  /** SIGTERM (drain, finish, exit) and waits for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies at once, its leases and connections with it. */
  kill(): Promise<void>;
}

export interface ReplicaSetOptions {
  replicas: number;
  /** Settings every replica shares: database, events, rate-limit store, models. */
  env: Record<string, string>;
  /** Holds each replica's data dir and HAProxy's configuration. */
  workDir: string;
  /** Log lines kept per replica (default info). */
  logLevel?: string;
  /** Sent with the requests that check every replica is reachable (an API key when keys are on). */
  headers?: Record<string, string>;
}

export interface ReplicaSet {
  readonly replicas: readonly Replica[];
  /** The balancer's address: requests go round-robin to the replicas HAProxy sees ready. */
  readonly url: string;
  /** What HAProxy has logged (server state changes among it). */
  balancerOutput(): string;
  close(): Promise<void>;
}

/** Waits for a child's exit; resolves at once when it has already exited. */
function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function haproxyConfig(port: number, replicas: readonly Replica[]): string {
  // Checks every 250 ms, each given 2 s (on 2 shared cores a replica at saturation answers late, not
  // never); three failed take a replica out (a drain fails readiness at once), two passed put it back.
  // A request whose connection is refused or cut before an answer comes is sent again to another
  // replica: that is the balancer's part of a rolling restart. The check speaks HTTP/1.1 (HAProxy's
  // default, HTTP/1.0, gets no answer from uWebSockets.js).
  return `global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  timeout check 2s
  option redispatch
  retries 3
  retry-on conn-failure empty-response
frontend sightline
  bind 127.0.0.1:${port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk
  http-check send meth GET uri /health/ready ver HTTP/1.1 hdr Host sightline
  http-check expect status 200
  default-server inter 250ms fall 3 rise 2
${replicas.map((r) => `  server ${r.id} 127.0.0.1:${r.port} check`).join('\n')}
`;
}

function replica(id: string, port: number, env: Record<string, string>): Replica {
  let child: ChildProcess | undefined;
  let log = '';
  const url = `http://127.0.0.1:${port}`;
  const fullEnv = { ...env, SIGHTLINE_HOST: '127.0.0.1', SIGHTLINE_PORT: String(port), SIGHTLINE_REPLICA_ID: id };
  return {
    id,
    port,
    url,
    output: () => log,
    get child() {
      return child;
    },
    async start() {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) throw new Error(`${id} is already running`);
      log += `--- start ${new Date().toISOString()}\n`;
      const started = spawn(process.execPath, [MAIN, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'], env: fullEnv });
      child = started;
      started.stdout.on('data', (d: Buffer) => (log += d.toString()));
      started.stderr.on('data', (d: Buffer) => (log += d.toString()));
      let ready = false;
      const gone = exited(started).then((code) => {
        if (!ready) throw new Error(`${id} exited with ${code} before it was ready:\n${log.slice(-4000)}`);
      });
      await Promise.race([waitForStatus(`${url}/health/ready`, 200, 90_000), gone]);
      ready = true;
    },
    async stop() {
      if (child === undefined) return null;
      const done = exited(child);
      child.kill('SIGTERM');
      return done;
    },
    async kill() {
      if (child === undefined) return;
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    },
  };
}

/** Starts the replicas one after another (model loads go faster without contention), then HAProxy in front. */
export async function startReplicaSet(options: ReplicaSetOptions): Promise<ReplicaSet> {
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SIGHTLINE_')));
  const replicas: Replica[] = [];
  for (let i = 1; i <= options.replicas; i++) {
    const id = `replica-${i}`;
    const dataDir = path.join(options.workDir, id);
    mkdirSync(dataDir, { recursive: true });
    const env = { ...baseEnv, SIGHTLINE_LOG_LEVEL: options.logLevel ?? 'info', SIGHTLINE_DATA_DIR: dataDir, ...options.env } as Record<string, string>;
    replicas.push(replica(id, await freePort(), env));
  }
  let haproxy: ChildProcess | undefined;
  let haproxyLog = '';
  const close = async () => {
    haproxy?.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.kill()));
  };
  try {
    for (const r of replicas) await r.start();
    const port = await freePort();
    const configFile = path.join(options.workDir, 'haproxy.cfg');
    writeFileSync(configFile, haproxyConfig(port, replicas));
    haproxy = spawn(HAPROXY, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.on('data', (d: Buffer) => (haproxyLog += d.toString()));
    haproxy.stderr!.on('data', (d: Buffer) => (haproxyLog += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitForStatus(`${url}/health/ready`, 200, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\nhaproxy: ${haproxyLog}`);
    });
    await waitForAllReplicas(url, replicas, 20_000, options.headers);
    return { replicas, url, balancerOutput: () => haproxyLog, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Resolves once requests through the balancer have reached every replica (each names itself in /v1/models). */
export async function waitForAllReplicas(url: string, replicas: readonly Replica[], timeoutMs: number, headers: Record<string, string> = {}): Promise<void> {
  const want = new Set(replicas.map((r) => r.id));
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < want.size) {
    if (Date.now() > deadline) throw new Error(`through the balancer only ${[...seen].join(', ') || 'none'} answered within ${timeoutMs} ms`);
    const res = await fetch(`${url}/v1/models`, { headers }).catch(() => undefined);
    if (res?.status === 200) seen.add(((await res.json()) as { replica: string }).replica);
    else {
      await res?.body?.cancel();
      await sleep(100);
    }
  }
}
