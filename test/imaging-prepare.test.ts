import { describe, expect, it } from 'vitest';
import { prepareImage, type ImageInputSpec, type PreparedImage } from '../dist/src/imaging/index.js';
import { SightlineError } from '../dist/src/errors.js';
import {
  craftedPngHeader,
  encode,
  fromRaw,
  ftypBox,
  gradientImage,
  orientedImage,
  pixelAt,
  PNG_SIGNATURE,
  rgbaPng,
  rgbPixels,
  solidImage,
  splitImage,
  stackedImage,
  twoFrameGif,
  type EncodeFormat,
  type Rgb,
} from './helpers/images.js';

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];
const GREEN: Rgb = [0, 255, 0];

const stretch = (width: number, height: number, extra: Partial<ImageInputSpec> = {}): ImageInputSpec => ({
  width,
  height,
  resize: 'stretch',
  colorOrder: 'RGB',
  ...extra,
});

/** Every pixel of the prepared image, as "r,g,b" strings, row by row. */
function rows(image: PreparedImage): string[][] {
  const out: string[][] = [];
  for (let y = 0; y < image.height; y++) {
    const row: string[] = [];
    for (let x = 0; x < image.width; x++) row.push(pixelAt(image.pixels, image.width, x, y).join(','));
    out.push(row);
  }
  return out;
}
const str = (c: Rgb) => c.join(',');

function expectAllPixels(image: PreparedImage, colour: Rgb, tolerance = 0) {
  for (let i = 0; i < image.pixels.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const got = image.pixels[i + c];
      if (Math.abs(got - colour[c]) > tolerance) {
        throw new Error(`pixel ${i / 3} channel ${c} is ${got}, expected ${colour[c]} ± ${tolerance}`);
      }
    }
  }
}

async function expectError(promise: Promise<unknown>, status: number, code: string, message?: RegExp) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SightlineError);
  expect((err as SightlineError).status).toBe(status);
  expect((err as SightlineError).code).toBe(code);
  if (message) expect((err as SightlineError).message).toMatch(message);
}

describe('decoding every supported format', () => {
  const colour: Rgb = [200, 100, 50];
  const cases: [EncodeFormat, number][] = [
    ['png', 0],
    ['webp', 0],
    ['tiff', 0],
    ['avif', 0],
    ['gif', 0],
    ['jpeg', 2],
  ];
  for (const [format, tolerance] of cases) {
    it(`${format}: solid colour survives, 3 channels, tight HWC`, async () => {
      const image = await prepareImage(await solidImage(format, 20, 10, colour), stretch(5, 4));
      expect(image.format).toBe(format);
      expect(image.mediaType).toBe(`image/${format}`);
      expect([image.width, image.height]).toEqual([5, 4]);
      expect(image.pixels.length).toBe(5 * 4 * 3);
      expect(image.original).toEqual({ width: 20, height: 10 });
      expectAllPixels(image, colour, tolerance);
    });
  }

  it('uses the first frame of an animated GIF', async () => {
    const gif = await twoFrameGif(4, 4, RED, BLUE);
    const image = await prepareImage(gif, stretch(4, 4));
    expect(image.original).toEqual({ width: 4, height: 4 });
    expectAllPixels(image, RED);
  });

  it.each([
    ['turns greyscale into three equal channels', 'b-w', [77, 77, 77]],
    ['turns 16-bit PNG into 8-bit', 'rgb16', [200, 100, 50]],
  ] as const)('%s', async (_name, colourspace, colour) => {
    const encoded = await fromRaw(
      rgbPixels(4, 2, () => colour),
      4,
      2,
    )
      .toColourspace(colourspace)
      .png()
      .toBuffer();
    const image = await prepareImage(encoded, stretch(4, 2));
    expectAllPixels(image, colour);
  });
});

describe('orientation, alpha and channel order', () => {
  // Stored 4×2: left half red, right half blue. Orientation 6 displays it rotated 90° clockwise (2×4):
  // the stored left column becomes the top row.
  const stored = rgbPixels(4, 2, (x) => (x < 2 ? RED : BLUE));
  for (const format of ['png', 'webp', 'tiff', 'jpeg'] as const) {
    it(`applies EXIF orientation 6 (${format})`, async () => {
      const bytes = await orientedImage(format, stored, 4, 2, 6);
      const image = await prepareImage(bytes, stretch(2, 4, { kernel: 'nearest' }));
      expect(image.original).toEqual({ width: 2, height: 4 });
      const tolerance = format === 'jpeg' ? 16 : 0;
      const close = (got: number[], want: Rgb) => got.every((v, i) => Math.abs(v - want[i]) <= tolerance);
      for (let x = 0; x < 2; x++) {
        expect(close(pixelAt(image.pixels, 2, x, 0), RED)).toBe(true);
        expect(close(pixelAt(image.pixels, 2, x, 3), BLUE)).toBe(true);
      }
    });
  }

  it('flattens transparency onto white by default and onto a configured background', async () => {
    // opaque red, fully transparent green, opaque blue
    const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 255]);
    const png = await rgbaPng(rgba, 3, 1);
    const white = await prepareImage(png, stretch(3, 1));
    expect(rows(white)).toEqual([['255,0,0', '255,255,255', '0,0,255']]);
    const grey = await prepareImage(png, stretch(3, 1, { background: [10, 20, 30] }));
    expect(rows(grey)).toEqual([['255,0,0', '10,20,30', '0,0,255']]);
  });

  it('always emits RGB pixels (BGR models swap channels at tensor fill), background given in RGB', async () => {
    const rgba = Buffer.from([200, 100, 50, 255, 0, 0, 0, 0]);
    const png = await rgbaPng(rgba, 2, 1);
    const image = await prepareImage(png, stretch(2, 1, { colorOrder: 'BGR', background: [1, 2, 3] }));
    expect(rows(image)).toEqual([['200,100,50', '1,2,3']]);
  });

  it('keeps the pad colour and gradient values exact for a BGR spec', async () => {
    const bytes = await gradientImage('png', 4, 1, 60);
    const image = await prepareImage(bytes, { width: 4, height: 3, resize: 'letterbox', colorOrder: 'BGR', padValue: 7 });
    expect(rows(image)).toEqual([
      ['7,7,7', '7,7,7', '7,7,7', '7,7,7'],
      ['0,0,0', '60,60,60', '120,120,120', '180,180,180'],
      ['7,7,7', '7,7,7', '7,7,7', '7,7,7'],
    ]);
  });
});

describe('stretch', () => {
  it('resizes to width×height ignoring aspect, with separate scales', async () => {
    const bytes = await splitImage('png', 8, 4, RED, BLUE);
    const image = await prepareImage(bytes, stretch(4, 8, { kernel: 'nearest' }));
    expect(image.transform).toEqual({ scaleX: 0.5, scaleY: 2, padX: 0, padY: 0 });
    expect(image.content).toEqual({ x: 0, y: 0, width: 4, height: 8 });
    for (const row of rows(image)) expect(row).toEqual([str(RED), str(RED), str(BLUE), str(BLUE)]);
  });
});

describe('letterbox', () => {
  it('keeps aspect, centres the content and pads rows with 114', async () => {
    const bytes = await splitImage('png', 8, 4, RED, BLUE);
    const image = await prepareImage(bytes, { width: 16, height: 16, resize: 'letterbox', colorOrder: 'RGB', kernel: 'nearest' });
    expect(image.transform).toEqual({ scaleX: 2, scaleY: 2, padX: 0, padY: 4 });
    expect(image.content).toEqual({ x: 0, y: 4, width: 16, height: 8 });
    const r = rows(image);
    const pad = Array(16).fill('114,114,114');
    const content = [...Array(8).fill(str(RED)), ...Array(8).fill(str(BLUE))];
    for (let y = 0; y < 16; y++) expect(r[y]).toEqual(y < 4 || y >= 12 ? pad : content);
  });

  it('with the default linear kernel: pad rows exact, content exact away from the colour edge', async () => {
    const bytes = await splitImage('png', 8, 4, RED, BLUE);
    const image = await prepareImage(bytes, { width: 16, height: 16, resize: 'letterbox', colorOrder: 'RGB' });
    const r = rows(image);
    for (const y of [0, 3, 12, 15]) expect(new Set(r[y])).toEqual(new Set(['114,114,114']));
    for (let y = 4; y < 12; y++) {
      expect(r[y].slice(0, 6)).toEqual(Array(6).fill(str(RED)));
      expect(r[y].slice(10)).toEqual(Array(6).fill(str(BLUE)));
    }
  });

  it('splits an odd padding floor-first (top) and pads columns for tall images', async () => {
    // 10×3 into 16×16: r = 1.6, content 16×5, 11 rows of padding: 5 above, 6 below.
    const wide = await prepareImage(await solidImage('png', 10, 3, GREEN), {
      width: 16,
      height: 16,
      resize: 'letterbox',
      colorOrder: 'RGB',
      padValue: 0,
    });
    expect(wide.content).toEqual({ x: 0, y: 5, width: 16, height: 5 });
    expect(wide.transform).toEqual({ scaleX: 1.6, scaleY: 5 / 3, padX: 0, padY: 5 });
    const r = rows(wide);
    for (let y = 0; y < 16; y++) expect(new Set(r[y])).toEqual(new Set([y >= 5 && y < 10 ? str(GREEN) : '0,0,0']));

    // 2×6 into 9×9: r = 1.5, content 3×9, 6 columns of padding: 3 left, 3 right.
    const tall = await prepareImage(await stackedImage('png', 2, 6, RED, BLUE), {
      width: 9,
      height: 9,
      resize: 'letterbox',
      colorOrder: 'RGB',
    });
    expect(tall.content).toEqual({ x: 3, y: 0, width: 3, height: 9 });
    const t = rows(tall);
    for (let y = 0; y < 9; y++) {
      expect(t[y].slice(0, 3)).toEqual(Array(3).fill('114,114,114'));
      expect(t[y].slice(6)).toEqual(Array(3).fill('114,114,114'));
    }
    expect(t[0].slice(3, 6)).toEqual(Array(3).fill(str(RED)));
    expect(t[8].slice(3, 6)).toEqual(Array(3).fill(str(BLUE)));
  });

  it('upscales small images to fit', async () => {
    const image = await prepareImage(await solidImage('png', 2, 2, RED), { width: 8, height: 4, resize: 'letterbox', colorOrder: 'RGB' });
    expect(image.content).toEqual({ x: 2, y: 0, width: 4, height: 4 });
  });
});

describe('pad-to-multiple', () => {
  const spec = (extra: Partial<ImageInputSpec> = {}): ImageInputSpec => ({ resize: 'pad-to-multiple', colorOrder: 'RGB', ...extra });

  it('rounds each side to its nearest multiple of 32 (no padding) when under maxSide', async () => {
    // 100 → round(3.125)·32 = 96; 50 → round(1.5625)·32 = 64
    const image = await prepareImage(await solidImage('png', 100, 50, GREEN), spec());
    expect([image.width, image.height]).toEqual([96, 64]);
    expect(image.transform).toEqual({ scaleX: 0.96, scaleY: 1.28, padX: 0, padY: 0 });
    expect(image.content).toEqual({ x: 0, y: 0, width: 96, height: 64 });
    expectAllPixels(image, GREEN);
  });

  it('caps the longer side at maxSide first', async () => {
    // 1000×500, maxSide 960: r = 0.96 → 960×480, both already multiples of 32
    const image = await prepareImage(await solidImage('png', 1000, 500, GREEN), spec());
    expect([image.width, image.height]).toEqual([960, 480]);
    expect(image.transform.scaleX).toBeCloseTo(0.96, 12);
    expect(image.transform.scaleY).toBeCloseTo(0.96, 12);
  });

  it('never goes below one multiple and honours a custom multiple and maxSide', async () => {
    const tiny = await prepareImage(await solidImage('png', 10, 10, GREEN), spec());
    expect([tiny.width, tiny.height]).toEqual([32, 32]);
    // 300×40, maxSide 128: r = 0.42666 → trunc → 128×17 → multiples of 16: 128×16
    const custom = await prepareImage(await solidImage('png', 300, 40, GREEN), spec({ multiple: 16, maxSide: 128 }));
    expect([custom.width, custom.height]).toEqual([128, 16]);
  });
});

describe('fit-height', () => {
  it('classifier: fixed 48×192, keeps aspect, right-pads with padValue', async () => {
    // 50×25 → natural width ceil(48·2) = 96, padded to 192
    const spec: ImageInputSpec = { width: 192, height: 48, resize: 'fit-height', colorOrder: 'RGB', padValue: 9 };
    const image = await prepareImage(await solidImage('png', 50, 25, GREEN), spec);
    expect([image.width, image.height]).toEqual([192, 48]);
    expect(image.content).toEqual({ x: 0, y: 0, width: 96, height: 48 });
    expect(image.transform).toEqual({ scaleX: 96 / 50, scaleY: 48 / 25, padX: 0, padY: 0 });
    for (const row of rows(image)) {
      expect(row.slice(0, 96)).toEqual(Array(96).fill(str(GREEN)));
      expect(row.slice(96)).toEqual(Array(96).fill('9,9,9'));
    }
  });

  it('classifier: a line wider than 4:1 is squeezed into 192', async () => {
    const spec: ImageInputSpec = { width: 192, height: 48, resize: 'fit-height', colorOrder: 'RGB' };
    const image = await prepareImage(await solidImage('png', 400, 25, GREEN), spec);
    expect(image.content).toEqual({ x: 0, y: 0, width: 192, height: 48 });
    expect(image.transform.scaleX).toBe(192 / 400);
  });

  it('recogniser: dynamic width rounded up to a multiple, capped at maxSide', async () => {
    const spec: ImageInputSpec = { height: 48, resize: 'fit-height', colorOrder: 'RGB', multiple: 32, maxSide: 320 };
    // 55×25 → ceil(105.6) = 106 → tensor 128, 22 columns of pad (default 0)
    const image = await prepareImage(await solidImage('png', 55, 25, GREEN), spec);
    expect([image.width, image.height]).toEqual([128, 48]);
    expect(image.content.width).toBe(106);
    const r = rows(image);
    expect(r[20].slice(0, 106)).toEqual(Array(106).fill(str(GREEN)));
    expect(r[20].slice(106)).toEqual(Array(22).fill('0,0,0'));
    // 1000×25 → natural 1920, capped at 320
    const long = await prepareImage(await solidImage('png', 1000, 25, GREEN), spec);
    expect([long.width, long.height, long.content.width]).toEqual([320, 48, 320]);
  });
});

describe('errors', () => {
  it('415 for text, SVG and HEIC, naming the type where known', async () => {
    await expectError(prepareImage(Buffer.from('hello world'), stretch(4, 4)), 415, 'unsupported_media_type', /not a recognised image/);
    await expectError(
      prepareImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'), stretch(4, 4)),
      415,
      'unsupported_media_type',
      /SVG/,
    );
    await expectError(prepareImage(ftypBox('heic', ['mif1', 'heic'], Buffer.alloc(64)), stretch(4, 4)), 415, 'unsupported_media_type', /HEIC/);
  });

  it('422 for a valid signature followed by garbage, and for truncated data', async () => {
    const garbage = Buffer.concat([PNG_SIGNATURE, Buffer.alloc(100, 0x41)]);
    await expectError(prepareImage(garbage, stretch(4, 4)), 422, 'undecodable_image');
    const jpegish = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(50, 0x13)]);
    await expectError(prepareImage(jpegish, stretch(4, 4)), 422, 'undecodable_image');
    const full = await gradientImage('png', 64, 64, 3);
    await expectError(prepareImage(full.subarray(0, Math.floor(full.length / 2)), stretch(4, 4)), 422, 'undecodable_image');
  });

  it('413 for a tiny PNG that declares 30000×30000, without decoding it', async () => {
    const bomb = craftedPngHeader(30000, 30000);
    expect(bomb.length).toBeLessThan(200);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    await expectError(
      prepareImage(bomb, stretch(4, 4), { maxInputPixels: 50_000_000 }),
      413,
      'payload_too_large',
      /30000×30000 \(900000000 pixels\); the limit is 50000000 pixels/,
    );
    expect(performance.now() - started).toBeLessThan(1000);
    // Decoding would need 2.7 GB; refusing from the header must not grow memory meaningfully.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('413 follows the configured pixel limit exactly', async () => {
    const image = await solidImage('png', 100, 100, RED);
    await expectError(prepareImage(image, stretch(4, 4), { maxInputPixels: 9_999 }), 413, 'payload_too_large');
    await expect(prepareImage(image, stretch(4, 4), { maxInputPixels: 10_000 })).resolves.toMatchObject({ width: 4 });
  });

  it('413 for too many bytes, 400 for an empty body', async () => {
    const image = await solidImage('png', 10, 10, RED);
    await expectError(prepareImage(image, stretch(4, 4), { maxInputPixels: 1e6, maxInputBytes: image.length - 1 }), 413, 'payload_too_large', /bytes/);
    await expectError(prepareImage(new Uint8Array(0), stretch(4, 4)), 400, 'bad_request');
  });

  it('an invalid spec is a programming error, not a client error', async () => {
    const image = await solidImage('png', 10, 10, RED);
    const err = await prepareImage(image, { resize: 'letterbox', colorOrder: 'RGB' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(SightlineError);
    expect((err as Error).message).toMatch(/letterbox" needs width and height/);
  });

  it('keeps serving after bad input (no poisoned state)', async () => {
    await expectError(prepareImage(Buffer.from('nope'), stretch(2, 2)), 415, 'unsupported_media_type');
    const ok = await prepareImage(
      await encode(
        fromRaw(
          rgbPixels(2, 2, () => BLUE),
          2,
          2,
        ),
        'png',
      ),
      stretch(2, 2),
    );
    expectAllPixels(ok, BLUE);
  });
});
