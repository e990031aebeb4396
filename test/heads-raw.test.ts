import { describe, expect, it } from 'vitest';
import { heads } from '../dist/src/heads/index.js';
import { imageGeometry } from './helpers/geometry.js';

const geometry = imageGeometry([1, 1]);

describe('raw head', () => {
  it('converts every output to plain arrays', () => {
    const answer = heads.raw.run(
      {
        scores: { dims: [1, 2], data: Float32Array.of(0.5, -1.25) },
        ids: { dims: [1, 3], data: BigInt64Array.of(1n, -2n, 9007199254740991n) },
        mask: { dims: [1, 2, 2], data: Uint8Array.of(0, 1, 255, 7) },
        counts: { dims: [1], data: Int32Array.of(-5) },
      },
      geometry,
      heads.raw.options.parse({}),
    );
    expect(answer).toEqual({
      outputs: {
        scores: { dims: [1, 2], data: [0.5, -1.25] },
        ids: { dims: [1, 3], data: [1, -2, 9007199254740991] },
        mask: { dims: [1, 2, 2], data: [0, 1, 255, 7] },
        counts: { dims: [1], data: [-5] },
      },
    });
    expect(Array.isArray(answer.outputs.scores.data)).toBe(true);
    expect(JSON.parse(JSON.stringify(answer))).toEqual(answer);
  });

  it('refuses int64 values a number cannot hold exactly', () => {
    const run = (v: bigint) => heads.raw.run({ ids: { dims: [1, 1], data: BigInt64Array.of(v) } }, geometry, heads.raw.options.parse({}));
    expect(run(-9007199254740991n).outputs.ids.data).toEqual([-9007199254740991]);
    expect(() => run(9007199254740992n)).toThrow('raw head: int64 value 9007199254740992 is outside the exactly representable number range');
    expect(() => run(-9007199254740992n)).toThrow('int64 value -9007199254740992');
  });
});
