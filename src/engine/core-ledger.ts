/**
 * The server's run ledger: `cores` tokens shared by every model. A batch dispatched to a CPU
 * instance holds as many tokens as its run may use threads (the session's intraOpThreads) from the
 * moment it is sent to a worker until it is answered, fails, misses its deadline or loses its
 * worker. Instances are then capacity rather than cores: a model may have enough instances ×
 * threads to use every core while the others are idle, and the ledger keeps what runs at once
 * within the cores when they are not.
 *
 * What takes tokens: an ONNX Runtime CPU run takes its intraOpThreads; a TensorFlow.js run takes
 * the threads its runtime reports (the wasm backend runs on one); a run on a GPU takes none (its
 * CPU side is a copy and a wait, and the GPU queues work itself).
 *
 * Grants are first come, first served: a request that does not fit waits, and nothing behind it
 * is granted before it, so a model asking for all the cores is not starved by a stream of
 * one-token runs.
 */

/** Tokens held for one run; released exactly once however the run ends (later calls do nothing). */
export interface Lease {
  readonly tokens: number;
  readonly released: boolean;
  release(): void;
}

interface Waiter {
  tokens: number;
  grant: (lease: Lease) => void;
}

/** Hands out and takes back tokens; never more than `cores` are out at once. */
export class CoreLedger {
  readonly cores: number;
  private out = 0;
  private peak = 0;
  private grants = 0;
  private readonly waiters: Waiter[] = [];
  private draining = false;

  constructor(cores: number) {
    this.cores = Math.max(1, Math.floor(cores));
  }

  /** Tokens out now. */
  get inUse(): number {
    return this.out;
  }

  /** Requests waiting for tokens now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** The most tokens that were ever out at once. */
  get peakInUse(): number {
    return this.peak;
  }

  /** Leases handed out so far (zero-token leases included). */
  get granted(): number {
    return this.grants;
  }

  /** A run never asks for more than the whole machine: one wider than the cores takes them all. */
  tokensFor(threads: number): number {
    return Math.min(this.cores, Math.max(0, Math.floor(threads)));
  }

  /** A lease at once when the tokens are free and nobody is waiting ahead; otherwise undefined. */
  tryAcquire(threads: number): Lease | undefined {
    const tokens = this.tokensFor(threads);
    if (tokens === 0) return this.lease(0);
    if (this.waiters.length > 0 || this.out + tokens > this.cores) return undefined;
    return this.lease(tokens);
  }

  /**
   * Queues a request; `grant` is called (from whichever call frees the tokens) once it is first in
   * line and fits. The returned function withdraws a request still waiting. Callers try
   * tryAcquire() first: a request is never granted from inside this call.
   */
  request(threads: number, grant: (lease: Lease) => void): () => void {
    const waiter: Waiter = { tokens: this.tokensFor(threads), grant };
    this.waiters.push(waiter);
    // A zero-token request (or free tokens behind a withdrawn waiter) may go now, but not inside this call.
    queueMicrotask(() => this.drain());
    return () => {
      const at = this.waiters.indexOf(waiter);
      if (at < 0) return;
      this.waiters.splice(at, 1);
      // The first in line may have been what held the others back.
      if (at === 0) this.drain();
    };
  }

  private lease(tokens: number): Lease {
    this.out += tokens;
    this.grants++;
    if (this.out > this.peak) this.peak = this.out;
    let released = false;
    return {
      tokens,
      get released() {
        return released;
      },
      release: () => {
        if (released) return;
        released = true;
        this.out -= tokens;
        this.drain();
      },
    };
  }

  /** Grants waiters in order while the first fits. Re-entrant calls (a grant that releases) are folded into the running loop. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.waiters.length > 0 && this.out + this.waiters[0].tokens <= this.cores) {
        const waiter = this.waiters.shift()!;
        const lease = this.lease(waiter.tokens);
        try {
          waiter.grant(lease);
        } catch {
          // A recipient that cannot take its grant must not keep the tokens.
          lease.release();
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
