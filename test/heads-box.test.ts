import { describe, expect, it } from 'vitest';
import { heads } from '../dist/src/heads/index.js';
import { imageGeometry } from './helpers/geometry.js';

/** 200×100 photo letterboxed into 100×100: scale 0.5, content 100×50, 25 px bars top and bottom. */
const letterbox = imageGeometry([200, 100], [100, 100], { scaleX: 0.5, scaleY: 0.5, padY: 25 });
/** 400×100 photo stretched to 100×100. */
const stretch = imageGeometry([400, 100], [100, 100], { scaleX: 0.25 });

const run = (dims: number[], values: number[], options: Record<string, unknown> = {}, geometry = letterbox) =>
  heads.box.run({ boxes: { dims, data: Float32Array.from(values) } }, geometry, heads.box.options.parse(options));

describe('box head', () => {
  it('maps one xyxy box in input pixels back through the letterbox', () => {
    // tensor [20, 35, 60, 55] → original [(20 − 0) / 0.5, (35 − 25) / 0.5, …] = [40, 20, 120, 60]
    expect(run([1, 4], [20, 35, 60, 55])).toEqual({ boxes: [[40, 20, 120, 60]] });
  });

  it('reads centre and size, corner and size, and fractions of the input', () => {
    expect(run([1, 4], [40, 45, 40, 20], { format: 'cxcywh' })).toEqual({ boxes: [[40, 20, 120, 60]] });
    expect(run([1, 4], [20, 35, 40, 20], { format: 'xywh' })).toEqual({ boxes: [[40, 20, 120, 60]] });
    expect(run([1, 4], [0.2, 0.35, 0.6, 0.55].map(Math.fround), { normalized: true })).toEqual({
      boxes: [[(Math.fround(0.2) * 100) / 0.5, (Math.fround(0.35) * 100 - 25) / 0.5, (Math.fround(0.6) * 100) / 0.5, (Math.fround(0.55) * 100 - 25) / 0.5]],
    });
    expect(run([1, 4], [0.25, 0.5, 0.75, 1], { normalized: true }, stretch)).toEqual({ boxes: [[100, 50, 300, 100]] });
  });

  it('answers K boxes of [1, K, 4] in output order, ordered corners and clamped to the image', () => {
    expect(
      run(
        [1, 3, 4],
        [
          20,
          35,
          60,
          55,
          60,
          55,
          20,
          35, // corners swapped
          90,
          10,
          120,
          40, // past the right edge and in the top bar
        ],
      ),
    ).toEqual({
      boxes: [
        [40, 20, 120, 60],
        [40, 20, 120, 60],
        [180, 0, 200, 30],
      ],
    });
    expect(run([1, 0, 4], [])).toEqual({ boxes: [] });
  });

  it('refuses outputs of another shape and values that are not finite', () => {
    expect(() => run([1, 5], [0, 0, 1, 1, 0])).toThrow('box head: expected output dims [1, 4] or [1, K, 4], got [1, 5]');
    expect(() => run([1, 2, 2], [0, 0, 1, 1])).toThrow('box head: expected output dims [1, 4] or [1, K, 4], got [1, 2, 2]');
    expect(() => run([1, 4], [0, Number.NaN, 1, 1])).toThrow('box head: box 0 value 1 is NaN');
  });

  it('checks the declared output at load', () => {
    const check = (dims: Array<number | string>) => heads.box.checkOutputs!({ boxes: dims }, heads.box.options.parse({}));
    expect(check(['N', 4])).toBeUndefined();
    expect(check(['N', 'K', 4])).toBeUndefined();
    expect(check(['N', 'K', 'F'])).toBeUndefined();
    expect(check(['N', 6])).toEqual({ field: 'head.output', message: 'a box head reads [N, 4] or [N, K, 4]; output "boxes" has dims [N, 6]' });
  });

  it('fills in its defaults', () => {
    expect(heads.box.options.parse({})).toEqual({ format: 'xyxy', normalized: false });
  });
});
