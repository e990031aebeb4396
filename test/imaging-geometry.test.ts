import { describe, expect, it } from 'vitest';
import { boxToOriginal, imageInputSpecProblems, planResize, prepareImage, toOriginal, toTensor, type ImageInputSpec } from '../dist/src/imaging/index.js';
import { pixelAt, rgbPixels, fromRaw } from './helpers/images.js';

describe('planResize', () => {
  const letterbox = (width: number, height: number): ImageInputSpec => ({ width, height, resize: 'letterbox', colorOrder: 'RGB' });

  it('letterbox 1280×720 into 640×640 (YOLO)', () => {
    expect(planResize({ width: 1280, height: 720 }, letterbox(640, 640))).toEqual({
      content: { width: 640, height: 360 },
      tensor: { width: 640, height: 640 },
      left: 0,
      top: 140,
      right: 0,
      bottom: 140,
      padValue: 114,
      transform: { scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 140 },
    });
  });

  it('letterbox rounds the content to whole pixels and records the realised scales', () => {
    // r = min(640/1000, 640/333) = 0.64 → 640 × round(213.12) = 213; pad 427 → 213 top, 214 bottom
    const plan = planResize({ width: 1000, height: 333 }, letterbox(640, 640));
    expect(plan.content).toEqual({ width: 640, height: 213 });
    expect([plan.top, plan.bottom, plan.left, plan.right]).toEqual([213, 214, 0, 0]);
    expect(plan.transform).toEqual({ scaleX: 0.64, scaleY: 213 / 333, padX: 0, padY: 213 });
  });

  it('letterbox never produces an empty content axis', () => {
    const plan = planResize({ width: 10000, height: 1 }, letterbox(64, 64));
    expect(plan.content).toEqual({ width: 64, height: 1 });
  });

  it('stretch', () => {
    const plan = planResize({ width: 300, height: 100 }, { width: 224, height: 224, resize: 'stretch', colorOrder: 'RGB' });
    expect(plan.content).toEqual({ width: 224, height: 224 });
    expect(plan.transform).toEqual({ scaleX: 224 / 300, scaleY: 224 / 100, padX: 0, padY: 0 });
  });

  it('pad-to-multiple follows PaddleOCR: truncate, round to the nearest multiple, at least one multiple', () => {
    const spec: ImageInputSpec = { resize: 'pad-to-multiple', colorOrder: 'RGB' };
    const size = (w: number, h: number) => planResize({ width: w, height: h }, spec).tensor;
    expect(size(640, 480)).toEqual({ width: 640, height: 480 });
    expect(size(1920, 1080)).toEqual({ width: 960, height: 544 }); // 1080·0.5 = 540 → 17 multiples
    expect(size(47, 49)).toEqual({ width: 32, height: 64 }); // 1.47 → 1, 1.53 → 2
    expect(size(3000, 20)).toEqual({ width: 960, height: 32 }); // 20·0.32 = 6 → 0 multiples → 1
    expect(size(5, 5)).toEqual({ width: 32, height: 32 });
    const plan = planResize({ width: 1920, height: 1080 }, spec);
    expect(plan.transform).toEqual({ scaleX: 0.5, scaleY: 544 / 1080, padX: 0, padY: 0 });
    expect([plan.left, plan.top, plan.right, plan.bottom]).toEqual([0, 0, 0, 0]);
  });

  it('pad-to-multiple never exceeds maxSide even when maxSide is not a multiple', () => {
    const plan = planResize({ width: 1000, height: 1000 }, { resize: 'pad-to-multiple', colorOrder: 'RGB', maxSide: 950 });
    expect(plan.tensor).toEqual({ width: 928, height: 928 });
  });

  it('fit-height for the PP-OCR direction classifier (3×48×192) and recogniser (3×48×W)', () => {
    const cls: ImageInputSpec = { width: 192, height: 48, resize: 'fit-height', colorOrder: 'RGB' };
    expect(planResize({ width: 100, height: 32 }, cls)).toMatchObject({
      content: { width: 150, height: 48 },
      tensor: { width: 192, height: 48 },
      right: 42,
      padValue: 0,
    });
    const rec: ImageInputSpec = { height: 48, resize: 'fit-height', colorOrder: 'BGR' };
    expect(planResize({ width: 100, height: 32 }, rec)).toMatchObject({ content: { width: 150, height: 48 }, tensor: { width: 150, height: 48 } });
    expect(planResize({ width: 10000, height: 32 }, rec).tensor).toEqual({ width: 960, height: 48 });
    const rec8: ImageInputSpec = { ...rec, multiple: 8 };
    expect(planResize({ width: 100, height: 32 }, rec8)).toMatchObject({ content: { width: 150 }, tensor: { width: 152 }, right: 2 });
  });

  it('rejects an image without pixels', () => {
    expect(() => planResize({ width: 0, height: 10 }, letterbox(10, 10))).toThrow(/no pixels/);
  });
});

describe('transform', () => {
  const t = { scaleX: 0.5, scaleY: 0.25, padX: 10, padY: 20 };
  const original = { width: 200, height: 400 };

  it('maps tensor points back with originalX = (tensorX − padX) / scaleX', () => {
    expect(toOriginal(t, 60, 70, original)).toEqual({ x: 100, y: 200 });
    expect(toTensor(t, 100, 200)).toEqual({ x: 60, y: 70 });
  });

  it('clamps points and boxes to the original image', () => {
    expect(toOriginal(t, 0, 0, original)).toEqual({ x: 0, y: 0 });
    expect(toOriginal(t, 1000, 1000, original)).toEqual({ x: 200, y: 400 });
    expect(boxToOriginal(t, { x1: 5, y1: 15, x2: 30, y2: 40 }, original)).toEqual({ x1: 0, y1: 0, x2: 40, y2: 80 });
    expect(boxToOriginal(t, { x1: 200, y1: 200, x2: 300, y2: 300 }, original)).toEqual({ x1: 200, y1: 400, x2: 200, y2: 400 });
  });

  it('round-trips a known point through a real letterbox', async () => {
    // 40×20 image, one white pixel at (30, 5) on black; letterboxed into 64×64: scale 1.6, padY 16.
    const pixels = rgbPixels(40, 20, (x, y) => (x === 30 && y === 5 ? [255, 255, 255] : [0, 0, 0]));
    const bytes = await fromRaw(pixels, 40, 20).png().toBuffer();
    const image = await prepareImage(bytes, { width: 64, height: 64, resize: 'letterbox', colorOrder: 'RGB', kernel: 'nearest' });
    expect(image.transform).toEqual({ scaleX: 1.6, scaleY: 1.6, padX: 0, padY: 16 });
    // Find the brightest tensor pixel and map its centre back: it must land inside original pixel (30, 5).
    let best = { x: -1, y: -1, v: -1 };
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const v = pixelAt(image.pixels, image.width, x, y)[0];
        if (v > best.v) best = { x, y, v };
      }
    }
    expect(best.v).toBe(255);
    const back = toOriginal(image.transform, best.x + 0.5, best.y + 0.5, image.original);
    expect(Math.floor(back.x)).toBe(30);
    expect(Math.floor(back.y)).toBe(5);
    // And the original pixel's centre maps forward into that tensor pixel.
    const fwd = toTensor(image.transform, 30.5, 5.5);
    expect([Math.floor(fwd.x), Math.floor(fwd.y)]).toEqual([best.x, best.y]);
  });
});

describe('imageInputSpecProblems', () => {
  const table: [string, ImageInputSpec, string[]][] = [
    ['valid letterbox', { width: 640, height: 640, resize: 'letterbox', colorOrder: 'RGB' }, []],
    ['valid recogniser', { height: 48, resize: 'fit-height', multiple: 8, maxSide: 320, colorOrder: 'BGR' }, []],
    ['letterbox without size', { resize: 'letterbox', colorOrder: 'RGB' }, ['resize "letterbox" needs width and height']],
    ['stretch without height', { width: 4, resize: 'stretch', colorOrder: 'RGB' }, ['resize "stretch" needs width and height']],
    ['pad-to-multiple with a size', { width: 640, resize: 'pad-to-multiple', colorOrder: 'RGB' }, ['resize "pad-to-multiple" takes no width or height']],
    ['fit-height without height', { width: 192, resize: 'fit-height', colorOrder: 'RGB' }, ['resize "fit-height" needs height']],
    ['maxSide below multiple', { resize: 'pad-to-multiple', multiple: 64, maxSide: 32, colorOrder: 'RGB' }, ['maxSide must be at least multiple']],
    ['bad padValue', { width: 1, height: 1, resize: 'letterbox', padValue: 256, colorOrder: 'RGB' }, ['padValue must be an integer in 0..255']],
    ['fractional width', { width: 1.5, height: 1, resize: 'stretch', colorOrder: 'RGB' }, ['width must be an integer in 1..16384']],
    [
      'bad background',
      { width: 1, height: 1, resize: 'stretch', colorOrder: 'RGB', background: [1, 2] as unknown as [number, number, number] },
      ['background must be three integers in 0..255'],
    ],
    [
      'bad order and mode',
      { resize: 'crop', colorOrder: 'RGBA' } as unknown as ImageInputSpec,
      ['resize must be one of stretch, letterbox, pad-to-multiple, fit-height', 'colorOrder must be RGB or BGR'],
    ],
  ];
  for (const [name, spec, problems] of table) {
    it(name, () => expect(imageInputSpecProblems(spec)).toEqual(problems));
  }
});
