import type { ServerProcess } from './server-process.js';

/** One access-log line of the child server: a request that reached sightline's handler. */
export interface AccessLine {
  reqId: string;
  method: string;
  path: string;
  route?: string;
  status: number;
}

/**
 * What reached the app, read from the child server's access log (one JSON line per request, written
 * when it ends, aborted ones included, with the client's `x-request-id` as `reqId`). A case marks its
 * requests with a unique id, in the `x-request-id` header and, where the target is free, in the path,
 * so cases that run at the same time never count each other's requests.
 */
export class AccessLog {
  private readonly lines: AccessLine[] = [];
  private partial = '';
  private sentinels = 0;

  constructor(private readonly server: ServerProcess) {
    server.child.stdout!.on('data', (d: Buffer) => this.take(d.toString('utf8')));
  }

  private take(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.includes('"msg":"request"')) continue;
      try {
        const j = JSON.parse(line) as { reqId?: unknown; method?: unknown; path?: unknown; route?: unknown; status?: unknown };
        this.lines.push({
          reqId: String(j.reqId),
          method: String(j.method),
          path: String(j.path),
          route: typeof j.route === 'string' ? j.route : undefined,
          status: Number(j.status),
        });
      } catch {
        // Not an access line after all (a log message that mentions one).
      }
    }
  }

  /**
   * The requests marked `marker` that reached the app, once the log has caught up: logging is
   * asynchronous, so a sentinel request goes through and everything logged before it is in.
   */
  async reached(marker: string): Promise<AccessLine[]> {
    const sentinel = `hostile-sentinel-${++this.sentinels}`;
    await fetch(`${this.server.base}/health/live`, { headers: { 'x-request-id': sentinel }, signal: AbortSignal.timeout(5000) });
    for (let waited = 0; !this.lines.some((l) => l.reqId === sentinel); waited += 20) {
      if (waited > 5000) throw new Error(`the access log never showed ${sentinel}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.lines.filter((l) => l.reqId === marker || l.path.split('/').includes(marker));
  }
}
