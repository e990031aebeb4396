import http from 'node:http';

export interface SessionResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Whether the request went out on a connection an earlier request had used. */
  reusedSocket: boolean;
  json(): any;
  text(): string;
}

/**
 * A client that keeps one connection alive across requests, as Python's `requests.Session` does:
 * a test can check that each answer leaves the connection usable for the next request.
 */
export class HttpSession {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly base: URL;
  /** Local ports of the connections used, in order. */
  readonly ports: number[] = [];

  constructor(baseUrl: string) {
    this.base = new URL(baseUrl);
  }

  request(method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<SessionResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: { ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              body,
              reusedSocket: req.reusedSocket,
              json: () => JSON.parse(body.toString('utf8')),
              text: () => body.toString('utf8'),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('socket', (socket) => {
        const record = () => this.ports.push(socket.localPort!);
        if (socket.localPort !== undefined) record();
        else socket.once('connect', record);
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * A multipart/form-data body as Python's requests writes `files={'file': f}`: each part named,
 * with the file's base name and, only where the caller gives one, a Content-Type.
 */
export function multipartBody(parts: ReadonlyArray<{ name: string; filename?: string; contentType?: string; data: Buffer | string }>): {
  body: Buffer;
  contentType: string;
} {
  const boundary = `a3f1c0de${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.contentType ? `Content-Type: ${p.contentType}\r\n` : ''}\r\n`));
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
