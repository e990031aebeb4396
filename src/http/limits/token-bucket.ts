/** The bucket size when none is given: one second's worth, at least one request. */
export const defaultBurst = (rps: number): number => Math.max(1, Math.ceil(rps));

/**
 * A token bucket: holds up to `capacity` tokens, refilled at `rate` per second; a request takes
 * one. Time is passed in (seconds, monotonic) so the bucket is a pure calculation.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    readonly rate: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Takes a token and returns 0, or returns the seconds until one will be there. */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.rate;
  }

  /** The seconds until a token will be there (0: one is there now), taking none. */
  wait(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.rate;
  }

  /** True when the bucket has refilled completely: it is then no different from a new one. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  private refill(now: number): void {
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.rate);
      this.updatedAt = now;
    }
  }
}
