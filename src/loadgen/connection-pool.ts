import net from 'node:net';

/**
 * One answered (or failed) request: its start on the generator's clock, latency, and status
 * (0: no answer: the connection failed, timed out, or none was free). `body` is kept only by
 * pools that ask for it.
 */
export interface Exchange {
  startMs: number;
  latencyMs: number;
  status: number;
  body?: Buffer;
}

export interface PoolOptions {
  /** Most connections open at once; a request past it fails at once with status 0. Default 1024. */
  maxConnections?: number;
  /** Keep each answer's body on its exchange (costs a copy per answer). Default false. */
  keepBodies?: boolean;
  /** A request unanswered for this long fails with status 0 and its connection is closed. Default none. */
  timeoutMs?: number;
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
  private current: { startMs: number; done: (e: Exchange) => void; timer: NodeJS.Timeout | undefined } | undefined;
  dead = false;

  constructor(
    host: string,
    port: number,
    private readonly options: PoolOptions,
    onIdle: (c: Connection) => void,
  ) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.parse(onIdle);
    });
    const fail = () => {
      this.dead = true;
      this.settle(0);
    };
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  send(request: Buffer, startMs: number, done: (e: Exchange) => void): void {
    const { timeoutMs } = this.options;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.socket.destroy(), timeoutMs);
    this.current = { startMs, done, timer };
    this.socket.write(request);
  }

  private settle(status: number, body?: Buffer): void {
    const c = this.current;
    if (c === undefined) return;
    this.current = undefined;
    if (c.timer !== undefined) clearTimeout(c.timer);
    const exchange: Exchange = { startMs: c.startMs, latencyMs: performance.now() - c.startMs, status };
    if (body !== undefined) exchange.body = body;
    c.done(exchange);
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
      // A copy, so the exchange does not pin the whole read buffer.
      const body = this.options.keepBodies ? Buffer.from(this.pending.subarray(end + HEADER_END.length, total)) : undefined;
      this.pending = this.pending.subarray(total);
      this.settle(status, body);
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
  private readonly options: PoolOptions;

  constructor(
    private readonly host: string,
    private readonly port: number,
    options: PoolOptions | number = {},
  ) {
    this.options = typeof options === 'number' ? { maxConnections: options } : options;
  }

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
      if (this.all.size >= (this.options.maxConnections ?? 1024)) return Promise.resolve({ startMs, latencyMs: 0, status: 0 });
      conn = new Connection(this.host, this.port, this.options, (c) => {
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
export function rawRequest(method: string, path: string, host: string, body?: Buffer, contentType?: string, headers: Record<string, string> = {}): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push(`content-type: ${contentType ?? 'application/octet-stream'}`, `content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === undefined ? head : Buffer.concat([head, body]);
}
