import { payloadTooLarge, type SightlineError } from '../errors.js';
import type { HttpResponse } from './uws.js';

/**
 * Where body bytes go once a reader takes the body. `data` returns false to ask for a pause.
 * A chunk is only valid during the call (uWS neuters its memory afterwards): a sink copies what it keeps.
 */
export interface BodySink {
  data(chunk: Uint8Array): boolean;
  end(): void;
  error(err: Error): void;
}

/**
 * The request body as uWS delivers it. `onData` must be attached inside the route handler's
 * synchronous part, before any await, so this object is created there and buffers chunks until a
 * reader (JSON, raw, multipart) takes them. uWS neuters each chunk's ArrayBuffer after the
 * callback returns: chunks that arrive before a reader is attached are kept as copies, later ones
 * are copied by the reader itself (straight into the final buffer when the length is declared).
 */
export class BodySource {
  /** Length announced by Content-Length, when there was one. */
  readonly declaredLength: number | undefined;
  private readonly res: HttpResponse | undefined;
  private readonly hardLimit: number;
  private pending: Buffer[] = [];
  private received = 0;
  private ended: boolean;
  private failure: Error | undefined;
  private sink: BodySink | undefined;
  private paused = false;
  /** False once the response is sent or aborted: uWS forbids touching it after that. */
  private live = true;

  constructor(res: HttpResponse | undefined, options: { declaredLength: number | undefined; hasBody: boolean; hardLimit: number }) {
    this.res = res;
    this.declaredLength = options.declaredLength;
    this.hardLimit = options.hardLimit;
    this.ended = !options.hasBody;
    if (res && options.hasBody) {
      res.onData((chunk, isLast) => this.push(chunk, isLast));
    }
  }

  get bytesReceived(): number {
    return this.received;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Fails the body at once when its declared length is past the hard limit: a reader that streams
   * (multipart) would otherwise wait for bytes the client may never send. Returns the failure.
   */
  refuseDeclaredPastLimit(): Error | undefined {
    if (this.declaredLength === undefined || this.declaredLength <= this.hardLimit) return undefined;
    const err = tooLarge('request body', this.hardLimit);
    this.fail(err);
    return err;
  }

  /** Fails the body (client went away, or a limit was hit); readers see the error. */
  fail(err: Error): void {
    if (this.failure || this.ended) return;
    this.failure = err;
    this.pending = [];
    // Nothing reads the rest any more: a paused socket would hold the reply and the close behind it.
    this.resume();
    this.sink?.error(err);
  }

  /** The response is sent or aborted; the socket is no longer this body's to pause or resume. */
  detach(): void {
    this.live = false;
    this.paused = false;
  }

  /** Hands every chunk, buffered and future, to one reader. */
  pipe(sink: BodySink): void {
    if (this.sink) throw new Error('request body already taken');
    this.sink = sink;
    if (this.failure) return sink.error(this.failure);
    const buffered = this.pending;
    this.pending = [];
    for (const chunk of buffered) {
      if (!sink.data(chunk)) this.pause();
    }
    if (this.ended) sink.end();
  }

  /** Resumes a paused upload (the reader drained). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.live) this.res?.resume();
  }

  /** Collects the whole body, failing with 413 once it exceeds `limit`. */
  collect(limit: number, what = 'request body'): Promise<Buffer> {
    if (this.declaredLength !== undefined && this.declaredLength > limit) {
      const err = tooLarge(what, limit);
      this.fail(err);
      return Promise.reject(err);
    }
    return new Promise<Buffer>((resolve, reject) => {
      // With a declared length the bytes go straight to their place; uWS has already checked
      // that the body is exactly that long.
      const whole = this.declaredLength !== undefined && this.declaredLength > 0 ? Buffer.allocUnsafe(this.declaredLength) : undefined;
      let filled = 0;
      // Bytes past the declared length (uWS should never deliver any) or without one.
      const chunks: Buffer[] = [];
      let size = 0;
      this.pipe({
        data: (chunk) => {
          if (size + chunk.byteLength > limit) {
            const err = tooLarge(what, limit);
            this.fail(err);
            reject(err);
            return true;
          }
          if (whole !== undefined && chunks.length === 0 && filled + chunk.byteLength <= whole.byteLength) {
            whole.set(chunk, filled);
            filled += chunk.byteLength;
          } else {
            chunks.push(Buffer.from(chunk));
          }
          size += chunk.byteLength;
          return true;
        },
        end: () => {
          if (whole !== undefined && chunks.length === 0 && filled === whole.byteLength) return resolve(whole);
          const parts = whole === undefined ? chunks : [whole.subarray(0, filled), ...chunks];
          resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, size));
        },
        error: reject,
      });
    });
  }

  private push(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.failure || this.ended) return;
    if (chunk.byteLength > 0) {
      this.received += chunk.byteLength;
      if (this.received > this.hardLimit) {
        this.fail(tooLarge('request body', this.hardLimit));
        return;
      }
      const view = new Uint8Array(chunk);
      if (this.sink) {
        // A reader that asks for a pause on the last chunk may never say so again (a stream that
        // ends emits no drain): the last chunk never pauses.
        if (!this.sink.data(view) && !isLast) this.pause();
      } else {
        this.pending.push(Buffer.from(view));
      }
    }
    if (isLast) {
      this.ended = true;
      // Whatever paused the upload, a whole body leaves the socket free for the next request.
      this.resume();
      this.sink?.end();
    }
  }

  private pause(): void {
    if (this.paused || this.ended || !this.live) return;
    this.paused = true;
    this.res?.pause();
  }
}

function tooLarge(what: string, limit: number): SightlineError {
  return payloadTooLarge(`${what} exceeds the limit of ${limit} bytes`);
}
