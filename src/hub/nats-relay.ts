import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import type { EventMessage, EventRelay } from './event-stream.js';

export interface NatsRelayOptions {
  /** nats://host:port (credentials in the URL are passed on). */
  url: string;
  /** The subject every replica of one deployment publishes to and subscribes to. */
  subject: string;
  replicaId: string;
  logger: Logger;
  /** Where other replicas' events go: local delivery only. */
  arrive(message: EventMessage): void;
}

const TOPICS = 'Sightline-Topics';
const EVENT = 'Sightline-Event';
const ORIGIN = 'Sightline-Origin';

/**
 * Events between replicas over core NATS: one message per event, the topics and event name in
 * headers and the data JSON as the payload, so nobody re-serialises it. The connection is made in
 * the background and kept forever: a replica starts and serves without NATS (its events then stay
 * local, with a warning), and relays again once NATS answers. While reconnecting, nats.js buffers
 * what is published and sends it when the connection is back, so other replicas get those events
 * late rather than never; before the first connection there is nothing to buffer into, and such
 * events stay local.
 */
export class NatsRelay implements EventRelay {
  private connection: NatsConnection | undefined;
  private connected = false;
  private closed = false;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  private constructor(private readonly options: NatsRelayOptions) {}

  static start(options: NatsRelayOptions): NatsRelay {
    const relay = new NatsRelay(options);
    void relay.run();
    return relay;
  }

  state(): { bus: string; connected: boolean } {
    return { bus: 'nats', connected: this.connected };
  }

  forward(message: EventMessage): void {
    const connection = this.connection;
    if (connection === undefined || this.closed) return;
    const h = headers();
    h.set(TOPICS, JSON.stringify(message.topics));
    h.set(EVENT, message.event);
    h.set(ORIGIN, this.options.replicaId);
    try {
      connection.publish(this.options.subject, this.encoder.encode(message.data), { headers: h });
    } catch (err) {
      // A closed or draining connection: the event was delivered locally, which is what is left.
      this.options.logger.debug({ err: (err as Error).message }, 'events: could not relay an event');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.connected = false;
    // Drain flushes what was published before the subscription and connection close.
    await connection?.drain().catch(() => connection.close());
  }

  private async run(): Promise<void> {
    const { logger, url, subject } = this.options;
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: url,
        name: `sightline ${this.options.replicaId}`,
        // A replica's own events are delivered locally at once: an echo would deliver them twice.
        noEcho: true,
        // Keep trying, from the very first connection on: a replica never gives up on the bus.
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
      });
    } catch (err) {
      logger.error({ err: (err as Error).message, url }, 'events: cannot use NATS; events stay inside this replica');
      return;
    }
    if (this.closed) {
      await connection.close();
      return;
    }
    this.connection = connection;
    connection.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) return;
        const topics = msg.headers?.get(TOPICS);
        const event = msg.headers?.get(EVENT);
        if (!topics || !event) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(topics);
        } catch {
          return;
        }
        if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) return;
        this.options.arrive({ topics: parsed, event, data: this.decoder.decode(msg.data) });
      },
    });
    await connection.flush().catch(() => {});
    this.connected = true;
    logger.info({ url, subject }, 'events: relaying through NATS');
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' && this.connected) {
        this.connected = false;
        logger.warn({ url }, 'events: NATS connection lost; relaying to local subscribers only until it is back');
      } else if (status.type === 'reconnect') {
        this.connected = true;
        logger.info({ url }, 'events: NATS connection back; relaying again');
      }
    }
  }
}
