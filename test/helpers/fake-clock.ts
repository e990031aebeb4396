import { afterEach, beforeEach, vi } from 'vitest';

/** Fake timers for every test of the calling file, real ones restored after each. */
export function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** Runs pending microtasks (a batcher's dispatch step, promise reactions) without moving the clock. */
export const flush = (): Promise<unknown> => vi.advanceTimersByTimeAsync(0);
