import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { probeImage } from '../dist/src/imaging/probe.js';
import { readPngHeader } from '../dist/src/imaging/png-header.js';

const raw = (width: number, height: number, channels: 1 | 2 | 3 | 4) =>
  sharp(Buffer.from(Array.from({ length: width * height * channels }, (_, i) => (i * 37) % 256)), { raw: { width, height, channels } });

/** PNGs of every pixel format libvips writes, with what its own header parse says of them. */
async function variants(): Promise<Array<[string, Buffer]>> {
  return [
    ['rgb', await raw(7, 5, 3).png().toBuffer()],
    ['rgba', await raw(7, 5, 4).png().toBuffer()],
    ['grey', await raw(7, 5, 1).png().toBuffer()],
    ['grey + alpha', await raw(7, 5, 2).png().toBuffer()],
    ['palette', await raw(7, 5, 3).png({ palette: true, colours: 8 }).toBuffer()],
    ['palette + transparency', await raw(7, 5, 4).png({ palette: true, colours: 8 }).toBuffer()],
    ['16-bit', await raw(7, 5, 3).toColourspace('rgb16').png().toBuffer()],
    ['interlaced', await raw(7, 5, 3).png({ progressive: true }).toBuffer()],
    ['rotated by EXIF', await raw(7, 5, 3).withMetadata({ orientation: 6 }).png().toBuffer()],
  ];
}

describe('PNG headers', () => {
  it('reads size, depth and colour type as libvips does', async () => {
    for (const [name, png] of await variants()) {
      const meta = await sharp(png).metadata();
      const header = readPngHeader(png)!;
      expect([name, header.width, header.height]).toEqual([name, meta.width, meta.height]);
      expect([name, header.exif]).toEqual([name, meta.orientation !== undefined]);
    }
  });

  it('probes every variant to what the libvips header parse gives', async () => {
    for (const [name, png] of await variants()) {
      const meta = await sharp(png).metadata();
      const probed = await probeImage(png);
      const rotated = (meta.orientation ?? 1) >= 5;
      expect([name, probed.stored, probed.oriented, probed.hasAlpha, probed.orientation, probed.plainRgb]).toEqual([
        name,
        { width: meta.width, height: meta.height },
        rotated ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height },
        meta.hasAlpha,
        meta.orientation ?? 1,
        meta.space === 'srgb' && meta.depth === 'uchar' && (meta.channels === 3 || meta.channels === 4),
      ]);
    }
  });

  it('leaves anything not plainly well formed to libvips', async () => {
    const png = await raw(7, 5, 3).png().toBuffer();
    expect(readPngHeader(png.subarray(0, 40))).toBeUndefined();
    const noIhdr = Buffer.from(png);
    noIhdr.write('JUNK', 12, 'latin1');
    expect(readPngHeader(noIhdr)).toBeUndefined();
    const zeroWidth = Buffer.from(png);
    zeroWidth.writeUInt32BE(0, 16);
    expect(readPngHeader(zeroWidth)).toBeUndefined();
    const runaway = Buffer.from(png);
    runaway.writeUInt32BE(0xffffff00, 33);
    expect(readPngHeader(runaway)).toBeUndefined();
    // And the probe still answers what libvips answers for them: 422 or 413, never a crash.
    await expect(probeImage(noIhdr)).rejects.toMatchObject({ status: 422 });
  });

  it('refuses a PNG over the pixel limit from its header alone', async () => {
    const png = await raw(7, 5, 3).png().toBuffer();
    const huge = Buffer.from(png);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    await expect(probeImage(huge)).rejects.toMatchObject({ status: 413, message: 'image is 100000×100000 (10000000000 pixels); the limit is 50000000 pixels' });
  });
});
