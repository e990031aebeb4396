import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodePlainPng } from '../dist/src/imaging/png-decode.js';
import { prepareImage } from '../dist/src/imaging/prepare.js';
import { resampleInto } from '../dist/src/imaging/resample.js';
import { PNG_SIGNATURE, pngChunk } from './helpers/images.js';
import { random } from './helpers/masks.js';

type Channels = 1 | 2 | 3 | 4;

/** Noise, a smooth blur of it, or flat bands: content that makes libspng's adaptive filtering pick every filter. */
async function pixels(width: number, height: number, channels: Channels, kind: 'noise' | 'smooth' | 'bands', seed: number): Promise<Buffer> {
  const next = random(seed);
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    const p = Math.floor(i / channels);
    data[i] = kind === 'bands' ? (Math.floor((p % width) / 5) * 40 + Math.floor(p / width) * 3) % 256 : Math.floor(next() * 256);
  }
  if (kind !== 'smooth' || width < 3 || height < 3) return data;
  return sharp(data, { raw: { width, height, channels } }).blur(2).raw().toBuffer();
}

const encode = (data: Buffer, width: number, height: number, channels: Channels, options: sharp.PngOptions) =>
  sharp(data, { raw: { width, height, channels } }).png(options).toBuffer();

/** The filter byte of every scanline, read straight from the stream. */
function filters(png: Buffer): number[] {
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  const channels = ({ 0: 1, 4: 2, 2: 3, 6: 4 } as Record<number, number>)[png[25]];
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) {
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + png.readUInt32BE(at)));
  }
  const raw = inflateSync(Buffer.concat(idat));
  return Array.from({ length: height }, (_, y) => raw[y * (width * channels + 1)]);
}

/** A copy of `png` with `chunk` inserted just before the first IDAT. */
function withChunk(png: Buffer, chunk: Buffer): Buffer {
  const idat = png.indexOf('IDAT', 8, 'latin1') - 4;
  return Buffer.concat([png.subarray(0, idat), chunk, png.subarray(idat)]);
}

describe('plain PNG decoding', () => {
  it('gives exactly the pixels libvips decodes, for every filter, size and 8-bit pixel format', async () => {
    const sizes: Array<[number, number]> = [
      [1, 1],
      [2, 3],
      [7, 5],
      [64, 3],
      [33, 17],
      [192, 48],
      [320, 48],
      [100, 100],
    ];
    const seen = new Set<number>();
    let images = 0;
    for (const [width, height] of sizes) {
      for (const channels of [1, 2, 3, 4] as const) {
        for (const kind of ['noise', 'smooth', 'bands'] as const) {
          const data = await pixels(width, height, channels, kind, width * 100 + height * 10 + channels);
          for (const options of [
            { adaptiveFiltering: true },
            { adaptiveFiltering: false },
            { adaptiveFiltering: true, compressionLevel: 0 },
            { adaptiveFiltering: true, compressionLevel: 9 },
          ]) {
            const png = await encode(data, width, height, channels, options);
            for (const f of filters(png)) seen.add(f);
            const decoded = decodePlainPng(png);
            const expected = await sharp(png).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
            const label = `${width}×${height}×${channels} ${kind} ${JSON.stringify(options)}`;
            expect(decoded, label).toBeDefined();
            expect([label, decoded!.width, decoded!.height, decoded!.channels]).toEqual([
              label,
              expected.info.width,
              expected.info.height,
              expected.info.channels,
            ]);
            expect(Buffer.from(decoded!.data).equals(expected.data), label).toBe(true);
            images++;
          }
        }
      }
    }
    expect(images).toBe(sizes.length * 4 * 3 * 4);
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('reads a stream split over several IDAT chunks', async () => {
    const data = await pixels(64, 40, 3, 'noise', 7);
    const png = await encode(data, 64, 40, 3, {});
    const at = png.indexOf('IDAT', 8, 'latin1') - 4;
    const length = png.readUInt32BE(at);
    const stream = png.subarray(at + 8, at + 8 + length);
    const split = Buffer.concat([
      png.subarray(0, at),
      pngChunk('IDAT', stream.subarray(0, 100)),
      pngChunk('IDAT', stream.subarray(100)),
      png.subarray(at + 12 + length),
    ]);
    expect(Buffer.from(decodePlainPng(split)!.data).equals(data)).toBe(true);
  });

  it('leaves to libvips what it does not decode exactly as libvips would, and anything malformed', async () => {
    const data = await pixels(9, 6, 3, 'noise', 3);
    const png = await encode(data, 9, 6, 3, {});
    const rgba = await encode(await pixels(9, 6, 4, 'noise', 4), 9, 6, 4, {});
    expect(decodePlainPng(png)).toBeDefined();
    const badCrc = Buffer.from(png);
    badCrc[png.indexOf('IDAT', 8, 'latin1') + 6] ^= 0xff;
    const noEnd = png.subarray(0, png.indexOf('IEND', 8, 'latin1') - 4);
    const cases: Array<[string, Buffer]> = [
      ['palette', await encode(data, 9, 6, 3, { palette: true, colours: 8 })],
      [
        '16-bit',
        await sharp(data, { raw: { width: 9, height: 6, channels: 3 } })
          .toColourspace('rgb16')
          .png()
          .toBuffer(),
      ],
      ['interlaced', await encode(data, 9, 6, 3, { progressive: true })],
      ['EXIF', await sharp(png).withMetadata({ orientation: 6 }).png().toBuffer()],
      ['ICC profile', await sharp(png).withIccProfile('p3').png().toBuffer()],
      ['gamma', withChunk(png, pngChunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f])))],
      ['transparency key', withChunk(png, pngChunk('tRNS', Buffer.from([0, 1, 0, 2, 0, 3])))],
      ['unknown chunk', withChunk(png, pngChunk('prVt', Buffer.from('x')))],
      ['bad CRC', badCrc],
      ['truncated', png.subarray(0, png.length - 30)],
      ['no IEND', noEnd],
      ['not a PNG', Buffer.concat([Buffer.from('GIF89a'), png.subarray(6)])],
      [
        'short stream',
        Buffer.concat([
          PNG_SIGNATURE,
          png.subarray(8, 33),
          pngChunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
          pngChunk('IEND', Buffer.alloc(0)),
        ]),
      ],
      ['rgba with a transparency key', withChunk(rgba, pngChunk('tRNS', Buffer.from([0, 1, 0, 2, 0, 3])))],
    ];
    for (const [name, bytes] of cases) expect([name, decodePlainPng(bytes)]).toEqual([name, undefined]);
  });

  it('prepares a plain PNG to the same tensor pixels as when libvips decodes it', async () => {
    const spec = { width: 192, height: 48, resize: 'letterbox' as const, colorOrder: 'RGB' as const };
    for (const channels of [3, 4] as const) {
      for (const [width, height] of [
        [320, 48],
        [192, 48],
        [150, 40],
      ] as const) {
        const png = await encode(await pixels(width, height, channels, 'smooth', width + channels), width, height, channels, { adaptiveFiltering: true });
        // An unknown ancillary chunk sends the same image through libvips' decoder instead.
        const viaLibvips = withChunk(png, pngChunk('prVt', Buffer.from('x')));
        const [mine, theirs] = await Promise.all([prepareImage(png, spec), prepareImage(viaLibvips, spec)]);
        expect(Buffer.from(mine.pixels).equals(Buffer.from(theirs.pixels)), `${width}×${height}×${channels}`).toBe(true);
        expect(mine.content).toEqual(theirs.content);
      }
    }
  });
});

describe('resampling an image already of the tensor size', () => {
  it('passes RGB through untouched and only flattens RGBA', () => {
    const next = random(11);
    const rgb = new Uint8Array(17 * 9 * 3).map(() => Math.floor(next() * 256));
    const target = { width: 17, height: 9, content: { x: 0, y: 0, width: 17, height: 9 }, padValue: 0, background: [255, 255, 255] as const };
    expect(resampleInto({ data: rgb, width: 17, height: 9, channels: 3 }, target)).toEqual(rgb);
    const rgba = new Uint8Array(17 * 9 * 4).map((_, i) => (i % 4 === 3 ? 255 : rgb[i - Math.floor(i / 4)]));
    expect(resampleInto({ data: rgba, width: 17, height: 9, channels: 4 }, target)).toEqual(rgb);
  });

  it('copies rows into a padded content box', () => {
    const rgb = new Uint8Array(4 * 2 * 3).map((_, i) => i + 1);
    const out = resampleInto(
      { data: rgb, width: 4, height: 2, channels: 3 },
      { width: 6, height: 4, content: { x: 1, y: 2, width: 4, height: 2 }, padValue: 9, background: [0, 0, 0] },
    );
    const expected = new Uint8Array(6 * 4 * 3).fill(9);
    for (let y = 0; y < 2; y++) expected.set(rgb.subarray(y * 12, (y + 1) * 12), ((2 + y) * 6 + 1) * 3);
    expect(out).toEqual(expected);
  });
});
