import { describe, expect, it } from 'vitest';
import { fillTensor, fillTensorUint8, slotElements, type TensorNorm } from '../dist/src/imaging/index.js';

// 2×2 image, HWC: (0,0)=[0,10,20] (1,0)=[30,40,50] (0,1)=[60,70,80] (1,1)=[255,128,1]
const image = { pixels: new Uint8Array([0, 10, 20, 30, 40, 50, 60, 70, 80, 255, 128, 1]), width: 2, height: 2 };
const mean = [0.485, 0.456, 0.406] as const;
const std = [0.229, 0.224, 0.225] as const;
const norm = (layout: 'NCHW' | 'NHWC'): TensorNorm => ({ layout, mean, std, scale: 1 / 255 });
const expected = (p: number, c: number) => Math.fround((p * (1 / 255) - mean[c]) / std[c]);
/** An NCHW tensor's expected values: one list of pixel bytes per tensor channel, normalised. */
const planes = (...channels: number[][]) => channels.flatMap((values, c) => values.map((p) => expected(p, c)));

describe('fillTensor', () => {
  it('NCHW: planes of R, G, B with (p·scale − mean) / std', () => {
    const target = new Float32Array(12);
    fillTensor(target, 0, image, norm('NCHW'));
    expect(Array.from(target)).toEqual(planes([0, 30, 60, 255], [10, 40, 70, 128], [20, 50, 80, 1]));
  });

  it('NHWC: interleaved', () => {
    const target = new Float32Array(12);
    fillTensor(target, 0, image, norm('NHWC'));
    expect(Array.from(target)).toEqual(Array.from(image.pixels, (p, i) => expected(p, i % 3)));
  });

  it('writes only its own slot of a batch tensor', () => {
    const target = new Float32Array(3 * 12).fill(Number.NaN);
    fillTensor(target, 12, image, { layout: 'NCHW', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 });
    expect(Array.from(target.subarray(0, 12)).every(Number.isNaN)).toBe(true);
    expect(Array.from(target.subarray(12, 24))).toEqual([0, 30, 60, 255, 10, 40, 70, 128, 20, 50, 80, 1]);
    expect(Array.from(target.subarray(24)).every(Number.isNaN)).toBe(true);
  });

  it('places the image top-left in a larger slot and fills the rest', () => {
    const plain: TensorNorm = { layout: 'NCHW', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 };
    const target = new Float32Array(slotElements(3, 2)).fill(Number.NaN);
    fillTensor(target, 0, image, plain, { width: 3, height: 2, fill: -1 });
    expect(Array.from(target)).toEqual([0, 30, -1, 60, 255, -1, 10, 40, -1, 70, 128, -1, 20, 50, -1, 80, 1, -1]);
    const nhwc = new Float32Array(slotElements(2, 3)).fill(Number.NaN);
    fillTensor(nhwc, 0, image, { ...plain, layout: 'NHWC' }, { width: 2, height: 3 });
    expect(Array.from(nhwc)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 255, 128, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses slots that do not fit and mismatched pixel buffers', () => {
    expect(() => fillTensor(new Float32Array(11), 0, image, norm('NCHW'))).toThrow(RangeError);
    expect(() => fillTensor(new Float32Array(24), 13, image, norm('NCHW'))).toThrow(RangeError);
    expect(() => fillTensor(new Float32Array(24), 0, { ...image, width: 3 }, norm('NCHW'))).toThrow(/pixels hold 12 bytes/);
    expect(() => fillTensor(new Float32Array(24), 0, image, norm('NCHW'), { width: 1, height: 2 })).toThrow(/smaller than the image/);
  });

  it('fills a large image exactly', () => {
    const big = { pixels: new Uint8Array(640 * 640 * 3).map((_, i) => i & 255), width: 640, height: 640 };
    const target = new Float32Array(640 * 640 * 3);
    fillTensor(target, 0, big, norm('NCHW'));
    expect(target[640 * 640 + 1]).toBe(expected(4, 1));
    expect(target[2 * 640 * 640 + 639 * 640 + 639]).toBe(expected(((639 * 640 + 639) * 3 + 2) & 255, 2));
  });

  it('BGR models read the RGB pixels swapped; mean/std follow the model order', () => {
    const target = new Float32Array(12);
    fillTensor(target, 0, image, { ...norm('NCHW'), colorOrder: 'BGR' });
    expect(Array.from(target)).toEqual(planes([20, 50, 80, 1], [10, 40, 70, 128], [0, 30, 60, 255]));
    const nhwc = new Float32Array(12);
    fillTensor(nhwc, 0, image, { layout: 'NHWC', mean: [0, 0, 0], std: [1, 1, 1], scale: 1, colorOrder: 'BGR' });
    expect(Array.from(nhwc)).toEqual([20, 10, 0, 50, 40, 30, 80, 70, 60, 1, 128, 255]);
  });
});

describe('fillTensorUint8', () => {
  it('NCHW and NHWC without normalisation', () => {
    const nchw = new Uint8Array(12);
    fillTensorUint8(nchw, 0, image, 'NCHW');
    expect(Array.from(nchw)).toEqual([0, 30, 60, 255, 10, 40, 70, 128, 20, 50, 80, 1]);
    const nhwc = new Uint8Array(24).fill(9);
    fillTensorUint8(nhwc, 12, image, 'NHWC');
    expect(Array.from(nhwc)).toEqual([...Array(12).fill(9), 0, 10, 20, 30, 40, 50, 60, 70, 80, 255, 128, 1]);
  });

  it('swaps channels for BGR models in both layouts', () => {
    const nchw = new Uint8Array(12);
    fillTensorUint8(nchw, 0, image, 'NCHW', undefined, 'BGR');
    expect(Array.from(nchw)).toEqual([20, 50, 80, 1, 10, 40, 70, 128, 0, 30, 60, 255]);
    const nhwc = new Uint8Array(12);
    fillTensorUint8(nhwc, 0, image, 'NHWC', undefined, 'BGR');
    expect(Array.from(nhwc)).toEqual([20, 10, 0, 50, 40, 30, 80, 70, 60, 1, 128, 255]);
  });

  it('pads a larger slot with the fill value', () => {
    const nhwc = new Uint8Array(slotElements(3, 2)).fill(9);
    fillTensorUint8(nhwc, 0, image, 'NHWC', { width: 3, height: 2, fill: 114 });
    expect(Array.from(nhwc)).toEqual([0, 10, 20, 30, 40, 50, 114, 114, 114, 60, 70, 80, 255, 128, 1, 114, 114, 114]);
    const nchw = new Uint8Array(slotElements(3, 2)).fill(9);
    fillTensorUint8(nchw, 0, image, 'NCHW', { width: 3, height: 2 });
    expect(Array.from(nchw)).toEqual([0, 30, 0, 60, 255, 0, 10, 40, 0, 70, 128, 0, 20, 50, 0, 80, 1, 0]);
  });
});
