import WebSocket from 'ws';

export type Frame = Record<string, unknown>;

/** A message's text: ws hands one over as a Buffer, or as fragments or an ArrayBuffer under other binaryTypes. */
export function frameText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString();
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString();
}

/** A WebSocket client that queues the JSON frames it receives, so tests can await them in order. */
export class FrameClient {
  readonly received: Frame[] = [];
  private cursor = 0;
  private wake: (() => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.received.push(isBinary ? { type: 'binary' } : (JSON.parse(frameText(data)) as Frame));
      this.wake?.();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<FrameClient> {
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new FrameClient(ws);
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  async next(timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.received.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.received[this.cursor++];
  }

  /** Sends a control message and returns the answer to it. */
  async ask(value: unknown): Promise<Frame> {
    this.send(value);
    return this.next();
  }

  /** Frames not read yet, after waiting `ms` for stragglers. */
  async unread(ms = 100): Promise<Frame[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const rest = this.received.slice(this.cursor);
    this.cursor = this.received.length;
    return rest;
  }

  close(): void {
    this.ws.close();
  }
}
