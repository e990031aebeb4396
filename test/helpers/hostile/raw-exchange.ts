import net from 'node:net';

/** One HTTP/1.1 response read off a raw socket. */
export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Everything the server did with the bytes of one connection. */
export interface RawExchange {
  replies: RawReply[];
  /** The server closed (or reset) the connection. */
  closed: boolean;
  /** Nothing more happened for `timeoutMs`: no complete reply and no close. */
  timedOut: boolean;
  /** Bytes after the last complete reply that do not make a reply. */
  leftover: Buffer;
}

export interface ExchangeOptions {
  /** Half-close the socket after writing (the client says it has nothing more to send). */
  halfClose?: boolean;
  /** Stop waiting after this many ms of silence. Default 5000. */
  timeoutMs?: number;
  /** Replies to wait for before finishing. Default 1. */
  replies?: number;
  /** After the last expected reply, wait this long to see whether the server closes. Default 0. */
  watchCloseMs?: number;
}

/** Parses as many complete responses as `data` holds; returns them and the unparsed rest. */
export function parseReplies(data: Buffer): { replies: RawReply[]; rest: Buffer } {
  const replies: RawReply[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const head = data.subarray(at, end).toString('latin1');
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN);
    if (!Number.isFinite(status)) break;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let bodyStart = end + 4;
    let body: Buffer;
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', p);
        if (lineEnd === -1) break;
        const size = parseInt(data.subarray(p, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) break;
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd === -1 && data.length < lineEnd + 4) break;
          p = trailerEnd === -1 ? lineEnd + 4 : trailerEnd + 4;
          complete = true;
          break;
        }
        if (data.length < lineEnd + 2 + size + 2) break;
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
      bodyStart = p;
      at = p;
    } else {
      const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : status === 204 || status === 304 || status < 200 ? 0 : NaN;
      if (!Number.isFinite(length)) break; // body until close: not a framing this server uses
      if (data.length < bodyStart + length) break;
      body = data.subarray(bodyStart, bodyStart + length);
      at = bodyStart + length;
    }
    replies.push({ status, headers, body: Buffer.from(body) });
  }
  return { replies, rest: data.subarray(at) };
}

/**
 * Writes bytes to a fresh TCP connection and reads what comes back, without any HTTP client in
 * between: the request bytes are exactly the payload (lying lengths, bare LFs, pipelined requests).
 * Write errors are ignored, so a server that answers and closes mid-upload still has its answer read.
 */
export function exchange(port: number, payload: Buffer | string | Array<Buffer | string>, options: ExchangeOptions = {}): Promise<RawExchange> {
  const wanted = options.replies ?? 1;
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    let done = false;
    let silence: NodeJS.Timeout | undefined;
    let closeWatch: NodeJS.Timeout | undefined;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(silence);
      clearTimeout(closeWatch);
      socket.destroy();
      const { replies, rest } = parseReplies(Buffer.concat(chunks));
      resolve({ replies, closed, timedOut: timedOut && !closed, leftover: rest });
    };
    const arm = () => {
      clearTimeout(silence);
      silence = setTimeout(() => finish(true), timeoutMs);
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      arm();
      const { replies } = parseReplies(Buffer.concat(chunks));
      if (replies.length >= wanted && closeWatch === undefined) {
        const watch = options.watchCloseMs ?? 0;
        if (watch === 0) finish(false);
        else closeWatch = setTimeout(() => finish(false), watch);
      }
    });
    socket.on('close', () => {
      closed = true;
      finish(false);
    });
    socket.on('error', () => {});
    socket.on('connect', () => {
      arm();
      const parts = Array.isArray(payload) ? payload : [payload];
      for (const part of parts) socket.write(part);
      if (options.halfClose) socket.end();
    });
  });
}

/**
 * Sends requests one after another on one connection, each after the previous reply (keep-alive,
 * no pipelining). Stops at the first request that gets no reply.
 */
export function conversation(port: number, requests: Buffer[], timeoutMs = 5000): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let sent = 0;
    let closed = false;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const { replies, rest } = parseReplies(data);
      resolve({ replies, closed, timedOut: timedOut && !closed, leftover: rest });
    };
    const next = () => {
      clearTimeout(timer);
      if (sent === requests.length) return finish(false);
      socket.write(requests[sent++]);
      timer = setTimeout(() => finish(true), timeoutMs);
    };
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      if (parseReplies(data).replies.length >= sent) next();
    });
    socket.on('close', () => {
      closed = true;
      finish(false);
    });
    socket.on('error', () => {});
    socket.on('connect', next);
  });
}
