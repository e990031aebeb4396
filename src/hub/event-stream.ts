import type { Hub } from './hub.js';

/** One event as it travels: the topics it goes to, its name, and its data already serialised. */
export interface EventMessage {
  readonly topics: readonly string[];
  readonly event: string;
  /** JSON text, serialised once for every topic and every replica. */
  readonly data: string;
}

/** An event from another replica, checked on arrival: `value` is `data` parsed, once, for code that needs the object. */
export interface ArrivedEvent extends EventMessage {
  readonly value: unknown;
}

/** Carries this replica's events to the others (NATS); what arrives from them comes back through `EventStream.arrive`. */
export interface EventRelay {
  /** False while the bus is unreachable: events then reach this replica's subscribers only. */
  readonly connected: boolean;
  forward(message: EventMessage): void;
  /** What /health/ready reports about the bus. */
  state(): { bus: string; connected: boolean };
  close(): Promise<void>;
}

/**
 * Where every event goes: to this replica's subscribers at once and, with a relay attached, to the
 * other replicas, whose events arrive here in turn for local delivery only. A replica's own events
 * never come back to it (the relay does not echo), so each subscriber gets each event once.
 */
export class EventStream {
  private relay: EventRelay | undefined;
  private readonly remoteListeners = new Set<(message: ArrivedEvent) => void>();

  constructor(private readonly hub: Hub) {}

  attach(relay: EventRelay): void {
    this.relay = relay;
  }

  relayState(): { bus: string; connected: boolean } | undefined {
    return this.relay?.state();
  }

  /**
   * Whether an event to `topics` has anyone to reach: always while the bus is connected (other
   * replicas may have subscribers); otherwise only local subscribers count, and most events have
   * none, so they are never read back or serialised.
   */
  wanted(topics: readonly string[]): boolean {
    return this.relay?.connected === true || topics.some((topic) => this.hub.hasSubscribers(topic));
  }

  /** An event of this replica's. */
  emit(message: EventMessage): void {
    this.deliver(message);
    this.relay?.forward(message);
  }

  /** An event of another replica's, from the relay: delivered here only, never forwarded again. */
  arrive(message: ArrivedEvent): void {
    this.deliver(message);
    for (const listener of this.remoteListeners) listener(message);
  }

  /** Code told of other replicas' events (the detection feed's listeners); the returned function stops it. */
  onRemote(listener: (message: ArrivedEvent) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  private deliver(message: EventMessage): void {
    for (const topic of message.topics) if (this.hub.hasSubscribers(topic)) this.hub.publish(topic, message.event, message.data);
  }
}
