import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { Logger } from '../logger.js';
import { CloseCode } from './close-codes.js';
import { MAX_TOPICS_PER_SOCKET } from './topics.js';

/** What the hub remembers about one open WebSocket. */
export interface SocketState {
  /** Set when uWS reports the close: from then on the socket must not be touched. */
  closed: boolean;
  readonly topics: Set<string>;
}

// uWS hands the user data back on the socket itself; the hub keeps its own map instead,
// so nothing has to call into a socket that may already be closed.
export type HubSocket = WebSocket<unknown>;

export interface HubOptions {
  /** Bytes queued for one client past which it is closed as a slow consumer. */
  maxBackpressureBytes: number;
  /** Bytes of received frames all sockets together may hold while their work runs (predict images). */
  maxInFlightBytes?: number;
  logger: Logger;
}

export interface HubCounters {
  connections: number;
  topics: number;
  published: number;
  slowConsumersClosed: number;
  /** Bytes of received frames held while their work runs, across every socket. */
  inFlightBytes: number;
}

export type SubscribeOutcome = 'subscribed' | 'too_many_topics' | 'closed';

/**
 * Topics and fan-out over uWS native pub/sub. Every socket either receives every message
 * published to its topics, in order, or is closed with 4000: after each publish or send, a
 * socket whose send queue passed the limit is ended, rather than having messages silently
 * dropped or buffered without bound. The check needs the subscribers of a topic, so the hub
 * mirrors uWS's topic tree in a map.
 */
export class Hub {
  private app: TemplatedApp | undefined;
  private readonly states = new Map<HubSocket, SocketState>();
  private readonly byTopic = new Map<string, Set<HubSocket>>();
  private readonly logger: Logger;
  readonly maxBackpressureBytes: number;
  private accepting = true;
  private work = 0;
  private idleWaiters: Array<() => void> = [];
  private published = 0;
  private slowConsumersClosed = 0;
  readonly maxInFlightBytes: number;
  private inFlightBytes = 0;

  constructor(options: HubOptions) {
    this.maxBackpressureBytes = options.maxBackpressureBytes;
    this.maxInFlightBytes = options.maxInFlightBytes ?? Number.POSITIVE_INFINITY;
    this.logger = options.logger;
  }

  /** Binds the hub to the uWS app whose WebSocket routes it serves. */
  attach(app: TemplatedApp): void {
    this.app = app;
  }

  /** False once shutdown started: routes refuse new connections and new work. */
  get isAccepting(): boolean {
    return this.accepting;
  }

  counters(): HubCounters {
    return {
      connections: this.states.size,
      topics: this.byTopic.size,
      published: this.published,
      slowConsumersClosed: this.slowConsumersClosed,
      inFlightBytes: this.inFlightBytes,
    };
  }

  /**
   * Takes `bytes` of the server-wide budget for a frame kept while its work runs; false when that
   * would exceed it. A frame alone always fits (its size has a limit of its own), so a budget
   * smaller than one frame slows clients down instead of refusing them for good.
   */
  reserveBytes(bytes: number): boolean {
    if (this.inFlightBytes > 0 && this.inFlightBytes + bytes > this.maxInFlightBytes) return false;
    this.inFlightBytes += bytes;
    return true;
  }

  /** Gives back what `reserveBytes` took, once the frame's work settled. */
  releaseBytes(bytes: number): void {
    this.inFlightBytes -= bytes;
  }

  opened(ws: HubSocket): SocketState {
    const state: SocketState = { closed: false, topics: new Set() };
    this.states.set(ws, state);
    return state;
  }

  /**
   * Called from the close handler of every route. 1006 with a reason is uWS failing the connection
   * itself, without a close frame (a text frame that is not UTF-8, a frame far past the size
   * limit, the idle timeout): the only trace the server keeps of why the client saw 1006.
   */
  closed(ws: HubSocket, code?: number, reason?: ArrayBuffer): void {
    const state = this.states.get(ws);
    if (state === undefined) return;
    if (code === 1006 && reason !== undefined && reason.byteLength > 0) {
      this.logger.info({ code, reason: Buffer.from(reason).toString('utf8') }, 'WebSocket connection failed by the transport');
    }
    state.closed = true;
    this.states.delete(ws);
    // uWS drops a closed socket's subscriptions itself; only the mirror needs updating.
    for (const topic of state.topics) this.removeFromTopic(ws, topic);
  }

  /** Subscribes to every topic, or to none when that would pass MAX_TOPICS_PER_SOCKET. */
  subscribe(ws: HubSocket, topics: readonly string[]): SubscribeOutcome {
    const state = this.states.get(ws);
    if (state === undefined || state.closed) return 'closed';
    const fresh = topics.filter((t) => !state.topics.has(t));
    if (state.topics.size + fresh.length > MAX_TOPICS_PER_SOCKET) return 'too_many_topics';
    for (const topic of fresh) {
      ws.subscribe(topic);
      state.topics.add(topic);
      let set = this.byTopic.get(topic);
      if (set === undefined) this.byTopic.set(topic, (set = new Set()));
      set.add(ws);
    }
    return 'subscribed';
  }

  /** Returns whether the socket was subscribed. */
  unsubscribe(ws: HubSocket, topic: string): boolean {
    const state = this.states.get(ws);
    if (state === undefined || state.closed || !state.topics.delete(topic)) return false;
    ws.unsubscribe(topic);
    this.removeFromTopic(ws, topic);
    return true;
  }

  hasSubscribers(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /**
   * Publishes `{"type":"event","topic","event","data"}`; `dataJson` is already serialised so
   * one JSON.stringify serves every topic an event goes to.
   */
  publish(topic: string, event: string, dataJson: string): void {
    const subscribers = this.byTopic.get(topic);
    if (this.app === undefined || subscribers === undefined) return;
    const message = `{"type":"event","topic":${JSON.stringify(topic)},"event":${JSON.stringify(event)},"data":${dataJson}}`;
    this.app.publish(topic, message, false);
    this.published++;
    // uWS has written or queued the message for every subscriber by now.
    let slow: HubSocket[] | undefined;
    for (const ws of subscribers) {
      if (ws.getBufferedAmount() > this.maxBackpressureBytes) (slow ??= []).push(ws);
    }
    if (slow !== undefined) for (const ws of slow) this.closeSlow(ws);
  }

  /** Sends a text frame to one socket; false when the socket is gone (or was just closed as slow). */
  send(ws: HubSocket, text: string): boolean {
    const state = this.states.get(ws);
    if (state === undefined || state.closed) return false;
    ws.send(text, false);
    if (ws.getBufferedAmount() > this.maxBackpressureBytes) {
      this.closeSlow(ws);
      return false;
    }
    return true;
  }

  /** Ends a connection with a close frame, unless it is already closed. */
  end(ws: HubSocket, code: number, reason: string): void {
    const state = this.states.get(ws);
    if (state === undefined || state.closed) return;
    ws.end(code, reason);
  }

  /** Work a socket started (an inference in flight) that shutdown should wait for. */
  beginWork(): void {
    this.work++;
  }

  endWork(): void {
    this.work--;
    if (this.work === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Shutdown: refuses new connections and work, waits up to `deadlineMs` for work in flight
   * to be answered, then closes every socket with 1001.
   */
  async close(deadlineMs: number): Promise<void> {
    this.accepting = false;
    if (this.work > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadlineMs)))),
      ]);
      clearTimeout(timer);
    }
    for (const ws of [...this.states.keys()]) this.end(ws, CloseCode.goingAway, 'server shutting down');
  }

  private closeSlow(ws: HubSocket): void {
    const state = this.states.get(ws);
    if (state === undefined || state.closed) return;
    this.slowConsumersClosed++;
    this.logger.warn({ bufferedBytes: ws.getBufferedAmount(), limit: this.maxBackpressureBytes, topics: [...state.topics] }, 'closing slow WebSocket consumer');
    ws.end(CloseCode.slowConsumer, 'slow consumer: backpressure limit exceeded');
  }

  private removeFromTopic(ws: HubSocket, topic: string): void {
    const set = this.byTopic.get(topic);
    if (set === undefined) return;
    set.delete(ws);
    if (set.size === 0) this.byTopic.delete(topic);
  }
}
