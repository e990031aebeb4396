import { connect, headers, type ConnectionOptions, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';
import type { ArrivedEvent, EventMessage, EventRelay } from './event-stream.js';
import { EventName } from './events.js';
import { checkTopic } from './topics.js';

export interface NatsRelayOptions {
  /** nats://[user:pass@ | token@]host:port */
  url: string;
  /** The subject every replica of one deployment publishes to and subscribes to. */
  subject: string;
  replicaId: string;
  logger: Logger;
  /** Where other replicas' events go: local delivery only. */
  arrive(message: ArrivedEvent): void;
  /** Between attempts while NATS is unreachable (default 1 s). */
  retryMs?: number;
}

const TOPICS = 'Sightline-Topics';
const EVENT = 'Sightline-Event';
const ORIGIN = 'Sightline-Origin';

const EVENT_NAMES: ReadonlySet<string> = new Set(Object.values(EventName));

/** A topic a client could subscribe to, spelt as the hub spells it. */
function isTopic(value: unknown): value is string {
  const check = checkTopic(value);
  return check.ok && check.topic === value;
}

/**
 * Events between replicas over core NATS: one message per event, the topics (a JSON array) and the
 * event name in headers and the data JSON as the payload, so nobody re-serialises it. The connection
 * is made in the background and kept forever: a replica starts and serves without NATS, and relays
 * once NATS answers. While it is unreachable, events are delivered to this replica's subscribers
 * only and are not kept for later: nats.js would buffer publishes made while reconnecting without a
 * bound, so they are dropped instead, and other replicas never see them.
 */
export class NatsRelay implements EventRelay {
  private connection: NatsConnection | undefined;
  private isConnected = false;
  private closed = false;
  private wakeRetry: (() => void) | undefined;
  private malformedSeen = 0;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private readonly retryMs: number;
  /** host:port, for logs: the URL may hold credentials. */
  readonly where: string;
  private readonly connectOptions: ConnectionOptions;

  constructor(private readonly options: NatsRelayOptions) {
    this.retryMs = options.retryMs ?? 1000;
    const url = new URL(options.url);
    this.where = url.host;
    // nats.js takes credentials as options, not from the server URL; a lone user name is a token.
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    const auth = pass !== '' ? { user, pass } : user !== '' ? { token: user } : {};
    this.connectOptions = {
      servers: `${url.protocol}//${url.host}`,
      ...auth,
      name: `sightline ${options.replicaId}`,
      // A replica's own events are delivered locally at once: an echo would deliver them twice.
      noEcho: true,
      // Once connected, a replica never gives up on the bus.
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.retryMs,
    };
  }

  /** Starts connecting in the background; the start of the server does not wait for NATS. */
  start(): void {
    this.options.logger.info({ natsServer: this.where, subject: this.options.subject }, 'events go through NATS to every replica');
    void this.run();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  state(): { bus: string; connected: boolean } {
    return { bus: 'nats', connected: this.isConnected };
  }

  forward(message: EventMessage): void {
    const connection = this.connection;
    if (connection === undefined || !this.isConnected) return;
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
    this.isConnected = false;
    this.wakeRetry?.();
    const connection = this.connection;
    this.connection = undefined;
    // Drain sends what was published before the subscription and connection close; it fails at
    // once while disconnected, and then there is nothing to send.
    await connection?.drain().catch(() => connection.close());
  }

  private async run(): Promise<void> {
    const { logger, subject } = this.options;
    const connection = await this.firstConnection();
    if (connection === undefined) return;
    if (this.closed) {
      await connection.close();
      return;
    }
    this.connection = connection;
    connection.subscribe(subject, {
      callback: (err, msg) => {
        if (err === null) this.receive(msg);
      },
    });
    // The subscription is in place before events count as relayed.
    await connection.flush().catch(() => {});
    if (this.closed) return;
    this.isConnected = true;
    logger.info({ natsServer: this.where, subject }, 'events: connected to NATS; relaying between replicas');
    for await (const status of connection.status()) {
      if (this.closed) break;
      if (status.type === 'disconnect' && this.isConnected) {
        this.isConnected = false;
        logger.warn({ natsServer: this.where }, 'events: NATS connection lost; relaying to local subscribers only until it is back');
      } else if (status.type === 'reconnect' && !this.isConnected) {
        this.isConnected = true;
        logger.info({ natsServer: this.where }, 'events: NATS connection back; relaying between replicas again');
      }
    }
  }

  /**
   * Tries until NATS answers or the relay is closed. nats.js's own `waitOnFirstConnect` would also
   * keep trying, but its promise cannot be given up on, so a server closed meanwhile would dial forever.
   */
  private async firstConnection(): Promise<NatsConnection | undefined> {
    let warned = false;
    while (!this.closed) {
      try {
        return await connect(this.connectOptions);
      } catch (err) {
        if (!warned) {
          warned = true;
          this.options.logger.warn(
            { natsServer: this.where, err: (err as Error).message },
            'events: NATS not reachable; relaying to local subscribers only until it is back',
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.retryMs);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = undefined;
      }
    }
    return undefined;
  }

  /** One message from another replica: checked, then handed to local delivery only. */
  private receive(msg: Msg): void {
    const message = this.decode(msg);
    if (message === undefined) {
      // Something else publishes on the subject: say so once, not for every message.
      if (this.malformedSeen++ === 0) {
        this.options.logger.warn(
          { subject: msg.subject, origin: msg.headers?.get(ORIGIN) },
          'events: ignoring a message on the events subject that is not a sightline event',
        );
      }
      return;
    }
    try {
      this.options.arrive(message);
    } catch (err) {
      // Thrown into nats.js, it would stop the subscription's delivery.
      this.options.logger.warn({ err: (err as Error).message, event: message.event }, 'events: could not deliver an event from another replica');
    }
  }

  private decode(msg: Msg): ArrivedEvent | undefined {
    const event = msg.headers?.get(EVENT) ?? '';
    const topicsText = msg.headers?.get(TOPICS) ?? '';
    if (!EVENT_NAMES.has(event) || topicsText === '') return undefined;
    try {
      const topics: unknown = JSON.parse(topicsText);
      if (!Array.isArray(topics) || !topics.every(isTopic)) return undefined;
      const data = this.decoder.decode(msg.data);
      // Parsed once: subscribers get `data` as it came (invalid JSON would break their frames), listeners `value`.
      return { topics, event, data, value: JSON.parse(data) as unknown };
    } catch {
      return undefined;
    }
  }
}
