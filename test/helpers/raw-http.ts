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
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body, closed });
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
