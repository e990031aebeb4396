import { getKey, keyEvents } from './api-key.js';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;

/**
 * One WebSocket to /v1/ws for the whole page. Remembers its topics and subscribes again after
 * every reconnect. Events:
 *   state   detail: 'connecting' | 'open' | 'closed'
 *   message detail: an `{"type":"event","topic","event","data"}` frame
 *   problem detail: an `{"type":"error","code","message"}` frame
 */
export class TopicSocket extends EventTarget {
  #topics = new Set();
  #ws;
  #retryMs = RETRY_MIN_MS;
  #timer;

  constructor(path = '/v1/ws') {
    super();
    this.path = path;
    this.state = 'closed';
    // A new key means a new connection: the key travels in the URL.
    keyEvents.addEventListener('change', () => this.reconnect());
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const key = getKey();
    return `${scheme}//${location.host}${this.path}${key ? `?key=${encodeURIComponent(key)}` : ''}`;
  }

  subscribe(topic) {
    this.#topics.add(topic);
    if (this.state === 'open') this.#send({ type: 'subscribe', topic });
    else if (!this.#ws) this.connect();
  }

  connect() {
    clearTimeout(this.#timer);
    this.#setState('connecting');
    const ws = new WebSocket(this.url());
    this.#ws = ws;
    ws.addEventListener('open', () => {
      if (ws !== this.#ws) return;
      this.#retryMs = RETRY_MIN_MS;
      this.#setState('open');
      // One message per topic: the server refuses a whole message when one of its topics is unknown.
      for (const topic of this.#topics) this.#send({ type: 'subscribe', topic });
    });
    ws.addEventListener('message', (event) => {
      if (ws !== this.#ws || typeof event.data !== 'string') return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame?.type === 'event') this.dispatchEvent(new CustomEvent('message', { detail: frame }));
      else if (frame?.type === 'error') this.dispatchEvent(new CustomEvent('problem', { detail: frame }));
    });
    ws.addEventListener('close', () => {
      if (ws !== this.#ws) return;
      this.#ws = undefined;
      this.#setState('closed');
      // Back off so a server without WebSocket support (or one that is down) is not hammered.
      this.#timer = setTimeout(() => this.connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
    });
  }

  reconnect() {
    const old = this.#ws;
    this.#ws = undefined;
    old?.close(1000, 'reconnecting');
    this.#retryMs = RETRY_MIN_MS;
    this.connect();
  }

  #send(message) {
    this.#ws?.send(JSON.stringify(message));
  }

  #setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }
}
