import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** True when the server closed the connection after the response. */
  closed: boolean;
}

/**
 * Sends bytes over a plain TCP socket and reads one HTTP/1.1 response. Used where an HTTP client
 * would refuse to send what the test needs (truncated bodies, lying Content-Length).
 */
export function rawRequest(port: number, payload: Buffer | string, options: { endAfterWrite?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => finish(), options.timeoutMs ?? 3000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split === -1) return reject(new Error(`no HTTP response received: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body = text.slice(split + 4);
      const length = headers['content-length'];
      if (length !== undefined) body = body.slice(0, Number(length));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, closed });
    };
    socket.on('data', (d) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const m = /content-length:\s*(\d+)/i.exec(text.slice(0, split));
      if (split !== -1 && m && text.length - split - 4 >= Number(m[1])) {
        // Give the server a moment to close, so `closed` is meaningful.
        setTimeout(finish, 50);
      }
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => {});
    socket.write(payload);
    if (options.endAfterWrite) socket.end();
  });
}

/**
 * One kept-alive TCP connection carrying requests one after another, as a keep-alive client
 * would. `send` resolves with the next response on the connection, or rejects once `timeoutMs`
 * passes without one (or the server closes first).
 */
export class RawConnection {
  private readonly socket: net.Socket;
  private readonly ready: Promise<void>;
  private buffered = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  /** True once the server closed the connection. */
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('error', () => {});
    this.socket.on('data', (d) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.waiter?.();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  async send(payload: Buffer | string, timeoutMs = 3000): Promise<RawResponse> {
    await this.ready;
    this.socket.write(payload);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        const response = this.takeResponse();
        if (!response && !this.closed) return;
        clearTimeout(timer);
        this.waiter = undefined;
        if (response) resolve(response);
        else reject(new Error('connection closed before a response'));
      };
      this.waiter = check;
      check();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Takes one whole response (Content-Length framed) off the buffer. */
  private takeResponse(): RawResponse | undefined {
    const text = this.buffered.toString('latin1');
    const split = text.indexOf('\r\n\r\n');
    if (split === -1) return undefined;
    const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (text.length - split - 4 < length) return undefined;
    const body = text.slice(split + 4, split + 4 + length);
    this.buffered = this.buffered.subarray(split + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body, closed: this.closed };
  }
}

/**
 * Sends bytes and collects everything the server sends back until it closes the connection or
 * `timeoutMs` passes, for requests that may legitimately get no answer at all.
 */
export function rawExchange(port: number, payload: Buffer | string, timeoutMs = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => finish(true));
    socket.on('error', () => {});
    socket.write(payload);
  });
}
