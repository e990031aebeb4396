import net from 'node:net';

export interface PipelinedLoadOptions {
  host: string;
  port: number;
  /** One complete HTTP/1.1 request (see rawRequest), written as is every time. */
  request: Buffer;
  connections: number;
  /** Requests kept in flight on each connection. */
  depth: number;
  durationSec: number;
}

export interface PipelinedLoadResult {
  /** Answers 2xx per second over the run. */
  requestsPerSec: number;
  answered: number;
  non2xx: number;
  /** Connections that failed or closed during the run. */
  errors: number;
  /** CPU this generator used, as a fraction of one core. */
  loadGenCpu: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/**
 * Byte length of the first complete answer in `buf` and its status, or undefined when it has not
 * all arrived. Reads Content-Length, or the end of a chunked body (node:http's default).
 */
function nextAnswer(buf: Buffer, from: number): { end: number; status: number } | undefined {
  const headEnd = buf.indexOf(HEADER_END, from);
  if (headEnd < 0) return undefined;
  const head = buf.toString('latin1', from, headEnd);
  const status = Number(head.slice(9, 12));
  const bodyStart = headEnd + HEADER_END.length;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const end = bodyStart + Number(length[1]);
    return end <= buf.length ? { end, status } : undefined;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = buf.indexOf(CHUNKED_END, bodyStart);
    return last < 0 ? undefined : { end: last + CHUNKED_END.length, status };
  }
  return { end: bodyStart, status };
}

/**
 * Saturates a server with pipelined keep-alive requests: each connection keeps `depth` requests
 * in flight and writes one more for every answer, answers are counted from the bytes without an
 * HTTP parser. A general-purpose generator (autocannon) parses every answer fully and, on a
 * 2-core machine, runs out of CPU before a fast front end does: this one costs a fraction of that,
 * so what it measures is the server.
 */
export async function pipelinedLoad(options: PipelinedLoadOptions): Promise<PipelinedLoadResult> {
  const { host, port, request, connections, depth, durationSec } = options;
  const refills = Array.from({ length: depth + 1 }, (_, n) => Buffer.concat(Array.from({ length: n }, () => request)));
  let answered = 0;
  let non2xx = 0;
  let errors = 0;
  let running = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  const one = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host, port, noDelay: true });
      let pending: Buffer = Buffer.alloc(0);
      let inFlight = 0;
      const finish = () => {
        socket.destroy();
        resolve();
      };
      socket.on('connect', () => {
        socket.write(refills[depth]);
        inFlight = depth;
      });
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        let at = 0;
        let done = 0;
        for (let a = nextAnswer(pending, at); a !== undefined; a = nextAnswer(pending, at)) {
          at = a.end;
          done++;
          if (a.status >= 200 && a.status < 300) answered++;
          else non2xx++;
        }
        pending = at === pending.length ? Buffer.alloc(0) : pending.subarray(at);
        inFlight -= done;
        if (running) {
          // One write for all the answers this read completed, so the generator's cost per request stays small.
          for (let left = done; left > 0; left -= depth) socket.write(refills[Math.min(left, depth)]);
          inFlight += done;
        } else if (inFlight === 0) finish();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (running) errors++;
        resolve();
      });
      // Answers still in flight at the end are not waited for beyond a grace period.
      setTimeout(finish, durationSec * 1000 + 2000).unref();
    });

  const all = Promise.all(Array.from({ length: connections }, one));
  await new Promise((r) => setTimeout(r, durationSec * 1000));
  running = false;
  const elapsedSec = (performance.now() - t0) / 1000;
  const counted = answered;
  const cpu = process.cpuUsage(cpu0);
  await all;
  return {
    requestsPerSec: counted / elapsedSec,
    answered: counted,
    non2xx,
    errors,
    loadGenCpu: (cpu.user + cpu.system) / 1e6 / elapsedSec,
  };
}
