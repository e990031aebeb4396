import net from 'node:net';

/** One answered (or failed) request: its start on the generator's clock, latency, and status (0: no answer). */
export interface Exchange {
  startMs: number;
  latencyMs: number;
  status: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A keep-alive HTTP/1.1 connection that sends one prebuilt request at a time and reads only the
 * status line and Content-Length of the answer. A load generator built on node:http spends several
 * times more CPU per request, which on a small machine is taken from the server it measures.
 */
class Connection {
  readonly socket: net.Socket;
  private pending: Buffer = Buffer.alloc(0);
  private current: { startMs: number; done: (e: Exchange) => void } | undefined;
  dead = false;

  constructor(host: string, port: number, onIdle: (c: Connection) => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.parse(onIdle);
    });
    const fail = () => {
      this.dead = true;
      const c = this.current;
      this.current = undefined;
      c?.done({ startMs: c.startMs, latencyMs: performance.now() - c.startMs, status: 0 });
    };
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  send(request: Buffer, startMs: number, done: (e: Exchange) => void): void {
    this.current = { startMs, done };
    this.socket.write(request);
  }

  private parse(onIdle: (c: Connection) => void): void {
    for (;;) {
      const end = this.pending.indexOf(HEADER_END);
      if (end < 0) return;
      const head = this.pending.subarray(0, end).toString('latin1');
      const status = Number(head.slice(9, 12));
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const length = match ? Number(match[1]) : 0;
      const total = end + HEADER_END.length + length;
      if (this.pending.length < total) return;
      this.pending = this.pending.subarray(total);
      const c = this.current;
      this.current = undefined;
      if (c !== undefined) c.done({ startMs: c.startMs, latencyMs: performance.now() - c.startMs, status });
      if (/\r\nconnection:\s*close/i.test(head)) {
        this.dead = true;
        this.socket.destroy();
        return;
      }
      onIdle(this);
    }
  }
}

/** A pool of keep-alive connections to one server: each request takes an idle connection or opens one. */
export class SocketPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxConnections = 1024,
  ) {}

  get open(): number {
    return this.all.size;
  }

  /**
   * Sends `request`; resolves with its exchange (status 0 when the connection failed or none was
   * free). Latency counts from `startMs`, the time the request was due, so a late send is not hidden.
   */
  request(request: Buffer, startMs = performance.now()): Promise<Exchange> {
    let conn = this.idle.pop();
    while (conn !== undefined && conn.dead) conn = this.idle.pop();
    if (conn === undefined) {
      if (this.all.size >= this.maxConnections) return Promise.resolve({ startMs, latencyMs: 0, status: 0 });
      conn = new Connection(this.host, this.port, (c) => {
        if (!c.dead) this.idle.push(c);
      });
      const created = conn;
      this.all.add(created);
      created.socket.on('close', () => this.all.delete(created));
    }
    const chosen = conn;
    return new Promise<Exchange>((resolve) => chosen.send(request, startMs, resolve));
  }

  close(): void {
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.idle.length = 0;
  }
}

/** A complete HTTP/1.1 request as bytes, built once and written as is for every send. */
export function rawRequest(method: string, path: string, host: string, body?: Buffer, contentType?: string): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`];
  if (body !== undefined) lines.push(`content-type: ${contentType ?? 'application/octet-stream'}`, `content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === undefined ? head : Buffer.concat([head, body]);
}

/**
 * Open-loop Poisson arrivals whose rate (per second) follows `rateAt(ms since start)`, for
 * `totalMs`: requests start on schedule whether or not earlier ones have answered. Resolves with
 * every exchange once all have settled, and the schedule's start on the same clock.
 */
export async function poissonLoad(
  pool: SocketPool,
  request: Buffer,
  rateAt: (elapsedMs: number) => number,
  totalMs: number,
): Promise<{ start: number; exchanges: Exchange[] }> {
  const out: Promise<Exchange>[] = [];
  const start = performance.now();
  const end = start + totalMs;
  let next = start;
  while (next < end) {
    const now = performance.now();
    if (next > now) {
      await new Promise((r) => setTimeout(r, next - now));
      continue;
    }
    // Every arrival that fell due while the timer slept goes now, timed from when it was due.
    while (next <= performance.now() && next < end) {
      out.push(pool.request(request, next));
      next += (-Math.log(1 - Math.random()) / rateAt(next - start)) * 1000;
    }
  }
  return { start, exchanges: await Promise.all(out) };
}

/** The q-quantile of latencies (ms), NaN when there are none. */
export function quantile(latencies: number[], q: number): number {
  if (latencies.length === 0) return Number.NaN;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
