import { randomFillSync } from 'node:crypto';

/**
 * Row ids are UUIDv7 strings: random enough to hand to clients, and ordered by creation
 * time so new rows land at the end of primary-key indexes (InnoDB clusters rows by it).
 * Within one process ids are strictly increasing: the 12-bit rand_a field counts ids
 * made in the same millisecond, so ties on a timestamp sort in creation order.
 */
let lastMs = 0;
let sequence = 0;
const random = new Uint8Array(10);

export function newId(): string {
  randomFillSync(random);
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    // Start low in the range so a busy millisecond has room to count up.
    sequence = ((random[0] << 8) | random[1]) & 0x7ff;
  } else {
    ms = lastMs;
    sequence += 1;
    if (sequence > 0xfff) {
      // Out of sequence numbers: borrow the next millisecond (the clock catches up).
      lastMs += 1;
      ms = lastMs;
      sequence = 0;
    }
  }
  const b = new Uint8Array(16);
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (sequence >> 8);
  b[7] = sequence & 0xff;
  b[8] = 0x80 | (random[2] & 0x3f);
  b.set(random.subarray(3, 10), 9);
  const hex = Buffer.from(b).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Normalises a client-supplied id, or returns undefined when it cannot be one of ours. */
export function normaliseId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  return UUID.test(lower) ? lower : undefined;
}
