import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { prepareImage } from '../dist/src/imaging/prepare.js';
import { resampleInto, type Raster } from '../dist/src/imaging/resample.js';
import { random } from './helpers/masks.js';

async function image(width: number, height: number, channels: 3 | 4, smooth: boolean, seed: number): Promise<Raster> {
  const next = random(seed);
  let data: Buffer = Buffer.from(Array.from({ length: width * height * channels }, () => Math.floor(next() * 256)));
  if (smooth) data = await sharp(data, { raw: { width, height, channels } }).blur(1.5).raw().toBuffer();
  return { data: new Uint8Array(data), width, height, channels };
}

/** What libvips makes of the same resize: flatten, `resize` with the linear kernel, drop alpha. */
async function libvips(src: Raster, width: number, height: number, background: [number, number, number]): Promise<Uint8Array> {
  const [r, g, b] = background;
  let pipeline = sharp(src.data, { raw: { width: src.width, height: src.height, channels: src.channels } });
  if (src.channels === 4) pipeline = pipeline.flatten({ background: { r, g, b } });
  return new Uint8Array(await pipeline.resize(width, height, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer());
}

const full = (width: number, height: number) => ({ width, height, content: { x: 0, y: 0, width, height }, padValue: 0, background: [255, 255, 255] as const });

describe('bilinear resampling', () => {
  // Shrinking, enlarging, both at once on different axes, one axis kept, and the text-crop case.
  const cases: Array<[number, number, number, number]> = [
    [320, 48, 192, 48],
    [100, 60, 64, 64],
    [64, 64, 40, 40],
    [10, 10, 19, 7],
    [33, 17, 50, 40],
    [200, 150, 224, 224],
    [48, 48, 48, 96],
    [17, 31, 17, 31],
  ];
  for (const [sw, sh, tw, th] of cases) {
    for (const channels of [3, 4] as const) {
      it(`${sw}×${sh}×${channels} → ${tw}×${th} is within 2 levels of libvips, noise and smooth`, async () => {
        for (const smooth of [false, true]) {
          const src = await image(sw, sh, channels, smooth, sw * 1000 + th * 10 + channels);
          const ours = resampleInto(src, full(tw, th));
          const theirs = await libvips(src, tw, th, [255, 255, 255]);
          expect(ours.length).toBe(theirs.length);
          let worst = 0;
          for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
          expect(worst).toBeLessThanOrEqual(2);
        }
      });
    }
  }

  it('keeps pixels exactly when the size does not change, and flattens alpha exactly', () => {
    const data = new Uint8Array([10, 20, 30, 255, 200, 100, 0, 0, 7, 8, 9, 128]);
    const out = resampleInto({ data, width: 3, height: 1, channels: 4 }, { ...full(3, 1), background: [100, 50, 0] });
    // Opaque kept, transparent becomes the background, half-covered mixes: round((7·128 + 100·127) / 255) = 53.
    expect([...out]).toEqual([10, 20, 30, 100, 50, 0, 53, 29, 5]);
  });

  it('enlarges as libvips does, sampling at x / scale − ½', () => {
    const row = new Uint8Array([0, 0, 0, 255, 255, 255]);
    expect([...resampleInto({ data: row, width: 2, height: 1, channels: 3 }, full(4, 1))].filter((_, i) => i % 3 === 0)).toEqual([0, 0, 128, 255]);
  });

  it('pads around the content box with the pad value and leaves nothing else', () => {
    const src = { data: new Uint8Array(4 * 2 * 3).fill(200), width: 4, height: 2, channels: 3 as const };
    const out = resampleInto(src, { width: 6, height: 5, content: { x: 1, y: 2, width: 4, height: 2 }, padValue: 7, background: [0, 0, 0] });
    const rows = Array.from({ length: 5 }, (_, y) => Array.from({ length: 6 }, (_, x) => out[(y * 6 + x) * 3]));
    expect(rows).toEqual([
      [7, 7, 7, 7, 7, 7],
      [7, 7, 7, 7, 7, 7],
      [7, 200, 200, 200, 200, 7],
      [7, 200, 200, 200, 200, 7],
      [7, 7, 7, 7, 7, 7],
    ]);
  });

  it('gives prepareImage the same pixels, within 2 levels, that the libvips resize gave for a text crop', async () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="48"><rect width="100%" height="100%" fill="white"/><text x="8" y="34" font-family="DejaVu Sans" font-size="26">Invoice 2026-11 total</text></svg>';
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    const spec = { resize: 'fit-height', height: 48, width: 192, padValue: 128, colorOrder: 'RGB' } as const;
    const fast = await prepareImage(png, spec);
    const reference = await sharp(png)
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(192, 48, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .raw()
      .toBuffer();
    let worst = 0;
    for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(fast.pixels[i] - reference[i]));
    expect([fast.width, fast.height, fast.content]).toEqual([192, 48, { x: 0, y: 0, width: 192, height: 48 }]);
    expect(worst).toBeLessThanOrEqual(2);
  });
});
