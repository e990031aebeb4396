import { describe, expect, it } from 'vitest';
import { CoreLedger, type Lease } from '../dist/src/engine/core-ledger.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('run ledger', () => {
  it('hands out at most its cores and takes them back', () => {
    const ledger = new CoreLedger(2);
    const a = ledger.tryAcquire(1)!;
    const b = ledger.tryAcquire(1)!;
    expect([a.tokens, b.tokens, ledger.inUse]).toEqual([1, 1, 2]);
    expect(ledger.tryAcquire(1)).toBeUndefined();
    a.release();
    a.release();
    expect(ledger.inUse).toBe(1);
    b.release();
    expect([ledger.inUse, ledger.peakInUse, ledger.granted]).toEqual([0, 2, 2]);
  });

  it('gives a run wider than the machine all the cores, and a GPU run none', () => {
    const ledger = new CoreLedger(2);
    const wide = ledger.tryAcquire(16)!;
    expect(wide.tokens).toBe(2);
    const gpu = ledger.tryAcquire(0)!;
    expect([gpu.tokens, ledger.inUse]).toEqual([0, 2]);
    gpu.release();
    wide.release();
    expect(ledger.inUse).toBe(0);
  });

  it('grants in arrival order: a stream of one-token runs does not starve a two-token one', async () => {
    const ledger = new CoreLedger(2);
    const order: string[] = [];
    const held: Lease[] = [];
    const take = (name: string) => (lease: Lease) => {
      order.push(name);
      held.push(lease);
    };
    const first = ledger.tryAcquire(1)!;
    ledger.request(2, take('wide'));
    // A token is free, but the wide run is first in line: nothing passes it.
    expect(ledger.tryAcquire(1)).toBeUndefined();
    for (let i = 0; i < 3; i++) ledger.request(1, take(`narrow${i}`));
    await flush();
    expect(order).toEqual([]);
    first.release();
    expect(order).toEqual(['wide']);
    held.shift()!.release();
    expect(order).toEqual(['wide', 'narrow0', 'narrow1']);
    for (const lease of held.splice(0)) lease.release();
    expect(order).toEqual(['wide', 'narrow0', 'narrow1', 'narrow2']);
    for (const lease of held.splice(0)) lease.release();
    expect([ledger.inUse, ledger.waiting, ledger.peakInUse]).toEqual([0, 0, 2]);
  });

  it('lets a withdrawn request go, and what waited behind it moves up', () => {
    const ledger = new CoreLedger(2);
    const a = ledger.tryAcquire(1)!;
    let granted: Lease | undefined;
    const withdraw = ledger.request(2, () => {
      throw new Error('withdrawn requests are never granted');
    });
    ledger.request(1, (lease) => (granted = lease));
    expect(granted).toBeUndefined();
    withdraw();
    expect(granted?.tokens).toBe(1);
    expect(ledger.waiting).toBe(0);
    granted!.release();
    a.release();
    expect(ledger.inUse).toBe(0);
  });

  it('takes back a grant whose recipient throws', () => {
    const ledger = new CoreLedger(1);
    const a = ledger.tryAcquire(1)!;
    ledger.request(1, () => {
      throw new Error('cannot take it');
    });
    a.release();
    expect([ledger.inUse, ledger.waiting]).toEqual([0, 0]);
  });

  it('grants a zero-token request without a call that frees tokens', async () => {
    const ledger = new CoreLedger(1);
    const a = ledger.tryAcquire(1)!;
    let got: Lease | undefined;
    ledger.request(0, (lease) => (got = lease));
    expect(got).toBeUndefined();
    await flush();
    expect(got?.tokens).toBe(0);
    a.release();
  });
});
