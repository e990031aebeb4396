import { invalidFields } from '../errors.js';
import type { BodySource } from './body-source.js';
import { PARAM_PROBLEMS, type PathParams } from './path-params.js';

/** Where a request's peer address is read from, on demand (most requests never ask). */
export interface PeerSource {
  remoteAddress(): string;
}

/**
 * Everything a handler may know about a request. uWS request objects die when the route handler
 * returns, so the fields are copied out first; the response object stays with the app.
 */
export class RequestContext {
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly requestId: string;
  readonly body: BodySource;
  private paramValues: PathParams = {};
  /** Route pattern once matched, for logs and metrics. */
  routeName = '';
  /** Extra fields for this request's access-log line (model name, batch size, ...). */
  readonly logFields: Record<string, unknown> = {};
  readonly startedAt: bigint;
  // Created on first use: most requests never look at their abort signal or peer address.
  private controller: AbortController | undefined;
  private abortReason: Error | undefined;
  private queryCache: URLSearchParams | undefined;
  private readonly peer: PeerSource;
  private peerCache: string | undefined;

  constructor(init: {
    method: string;
    path: string;
    rawQuery: string;
    headers: Record<string, string>;
    requestId: string;
    peer: PeerSource;
    body: BodySource;
    startedAt: bigint;
  }) {
    this.method = init.method;
    this.path = init.path;
    this.rawQuery = init.rawQuery;
    this.headers = init.headers;
    this.requestId = init.requestId;
    this.peer = init.peer;
    this.body = init.body;
    this.startedAt = init.startedAt;
  }

  /**
   * The path parameters, decoded. A parameter that was not valid percent-encoded UTF-8 is a 400
   * naming it, thrown here so that every route taking parameters refuses it the same way.
   */
  get params(): Record<string, string> {
    const problems = this.paramValues[PARAM_PROBLEMS];
    if (problems !== undefined) throw invalidFields(problems);
    return this.paramValues;
  }

  set params(values: PathParams) {
    this.paramValues = values;
  }

  get query(): URLSearchParams {
    return (this.queryCache ??= new URLSearchParams(this.rawQuery));
  }

  /** The client's address; read while the response is still open. */
  get remoteAddress(): string {
    return (this.peerCache ??= this.peer.remoteAddress());
  }

  /** Aborts when the client disconnects before the response is sent. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  /** Media type without parameters, lower-cased ('' when absent). */
  get mediaType(): string {
    const value = this.headers['content-type'] ?? '';
    const semi = value.indexOf(';');
    return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  }

  markAborted(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}
