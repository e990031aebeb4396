/**
 * Hostile images, built with sharp and byte surgery: nothing is downloaded. Each entry says what
 * it is and the status the image rules call for when it is sent as an image (200 means a valid image).
 */
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { craftedPngHeader, pngChunk, PNG_SIGNATURE as PNG_MAGIC } from '../images.js';

export interface HostileImage {
  what: string;
  bytes: Buffer;
  /** The content type a client would send with it. */
  type: string;
  /** 'ok' for an image that must be accepted; otherwise the error status. */
  verdict: 'ok' | 400 | 413 | 415 | 422;
}

/** Splits a PNG into its chunks (after the signature). */
function pngChunks(png: Buffer): Array<{ type: string; raw: Buffer }> {
  const out: Array<{ type: string; raw: Buffer }> = [];
  let at = 8;
  while (at + 8 <= png.length) {
    const length = png.readUInt32BE(at);
    out.push({ type: png.toString('latin1', at + 4, at + 8), raw: png.subarray(at, at + 12 + length) });
    at += 12 + length;
  }
  return out;
}

/** A PNG with `extra` chunks inserted right after IHDR. */
function withChunks(png: Buffer, extra: Buffer[]): Buffer {
  const chunks = pngChunks(png);
  return Buffer.concat([PNG_MAGIC, chunks[0].raw, ...extra, ...chunks.slice(1).map((c) => c.raw)]);
}

const gradient = (width: number, height: number) => {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7) & 0xff;
  return sharp(px, { raw: { width, height, channels: 3 } });
};

/** A JPEG whose SOF header declares width×height; its scan data stays that of a 16×16 image. */
async function jpegDeclaring(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(await gradient(16, 16).jpeg().toBuffer());
  for (let i = 2; i + 9 < jpeg.length; i++) {
    if (jpeg[i] === 0xff && (jpeg[i + 1] === 0xc0 || jpeg[i + 1] === 0xc2)) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
  }
  throw new Error('no SOF marker');
}

/** A GIF whose logical screen is width×height around one 1×1 frame. */
function gifDeclaring(width: number, height: number): Buffer {
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80; // global colour table of 2 entries
  const descriptor = Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
  return Buffer.concat([Buffer.from('GIF89a', 'latin1'), screen, Buffer.from([0, 0, 0, 255, 255, 255]), descriptor, Buffer.from([2, 2, 0x44, 0x01, 0, 0x3b])]);
}

const riffChunk = (type: string, data: Buffer) => {
  const head = Buffer.alloc(8);
  head.write(type, 0, 'latin1');
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
};

/**
 * An animated WebP whose canvas is width×height, holding one small frame: decoding composites the
 * frame onto the whole canvas, so a few hundred bytes ask for width·height·4 bytes.
 */
function webpCanvas(width: number, height: number, lossless: Buffer): Buffer {
  const frame = lossless.subarray(12); // the VP8L chunk, after RIFF....WEBP
  const frameWidth = 16;
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x02; // animation
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  const anmf = Buffer.alloc(16);
  anmf.writeUIntLE(frameWidth - 1, 6, 3);
  anmf.writeUIntLE(frameWidth - 1, 9, 3);
  anmf.writeUIntLE(100, 12, 3); // duration
  const body = Buffer.concat([
    Buffer.from('WEBP', 'latin1'),
    riffChunk('VP8X', vp8x),
    riffChunk('ANIM', Buffer.alloc(6)),
    riffChunk('ANMF', Buffer.concat([anmf, frame])),
  ]);
  return riffChunk('RIFF', body);
}

/** A little-endian greyscale TIFF whose IFD declares width×height over a strip of 64 bytes. */
function tiffDeclaring(width: number, height: number): Buffer {
  const entries: Array<[tag: number, type: number, value: number]> = [
    [256, 4, width], // ImageWidth, LONG
    [257, 4, height], // ImageLength
    [258, 3, 8], // BitsPerSample
    [259, 3, 1], // Compression: none
    [262, 3, 1], // Photometric: min-is-black
    [273, 4, 8 + 2 + 9 * 12 + 4], // StripOffsets: right after the IFD
    [277, 3, 1], // SamplesPerPixel
    [278, 4, height], // RowsPerStrip
    [279, 4, 64], // StripByteCounts
  ];
  const ifd = Buffer.alloc(2 + entries.length * 12 + 4);
  ifd.writeUInt16LE(entries.length, 0);
  entries.forEach(([tag, type, value], i) => {
    const o = 2 + i * 12;
    ifd.writeUInt16LE(tag, o);
    ifd.writeUInt16LE(type, o + 2);
    ifd.writeUInt32LE(1, o + 4);
    if (type === 3) ifd.writeUInt16LE(value, o + 8);
    else ifd.writeUInt32LE(value, o + 8);
  });
  return Buffer.concat([Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]), ifd, Buffer.alloc(64, 0x80)]);
}

/** Frames×(w×h) animation in the given format. */
function animation(format: 'gif' | 'webp', frames: number, width: number, height: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f++) px.fill((f * 37) & 0xff, f * width * height * 3, (f + 1) * width * height * 3);
  const image = sharp(px, { raw: { width, height: height * frames, channels: 3, pageHeight: height } as never });
  return format === 'gif' ? image.gif().toBuffer() : image.webp({ lossless: true }).toBuffer();
}

/** A w×h PNG of random pixels: it does not compress, so its size is about w·h·3 bytes. */
export function noisePng(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** Every hostile image of the suite, plus a few valid ones that must keep working. */
export async function hostileImages(): Promise<HostileImage[]> {
  const png = await gradient(64, 48).png().toBuffer();
  const jpeg = await gradient(64, 48).jpeg().toBuffer();
  const webp = await gradient(64, 48).webp().toBuffer();
  const avif = await gradient(64, 48).avif().toBuffer();
  const tiff = await gradient(64, 48).tiff().toBuffer();
  const tinyPng = await gradient(1, 1).png().toBuffer();
  // zlib streams that inflate to 96 MiB from about 100 KB.
  const bomb = deflateSync(Buffer.alloc(96 * 1024 * 1024), { level: 9 });
  const zTXt = pngChunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), bomb]));
  const iCCP = pngChunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), bomb]));
  const eXIf = pngChunk('eXIf', Buffer.concat([Buffer.from('MM\0*\0\0\0\x08', 'latin1'), randomBytes(400 * 1024)]));
  const bigExifJpeg = await gradient(64, 48)
    .withExif({ IFD0: { ImageDescription: 'x'.repeat(60_000), Copyright: 'y'.repeat(2000) } })
    .jpeg()
    .toBuffer();
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="100%" height="100%"/></svg>');
  return [
    { what: 'valid 64×48 PNG', bytes: png, type: 'image/png', verdict: 'ok' },
    { what: 'valid 64×48 JPEG', bytes: jpeg, type: 'image/jpeg', verdict: 'ok' },
    { what: 'valid WebP', bytes: webp, type: 'image/webp', verdict: 'ok' },
    { what: 'valid AVIF', bytes: avif, type: 'image/avif', verdict: 'ok' },
    { what: 'valid TIFF', bytes: tiff, type: 'image/tiff', verdict: 'ok' },
    { what: '1×1 PNG', bytes: tinyPng, type: 'image/png', verdict: 'ok' },
    { what: '16-bit PNG', bytes: await gradient(32, 32).toColourspace('rgb16').png().toBuffer(), type: 'image/png', verdict: 'ok' },
    { what: 'CMYK JPEG', bytes: await gradient(32, 32).toColourspace('cmyk').jpeg().toBuffer(), type: 'image/jpeg', verdict: 'ok' },
    {
      what: 'grey+alpha PNG',
      bytes: await sharp(Buffer.alloc(16 * 16 * 2, 90), { raw: { width: 16, height: 16, channels: 2 } })
        .png()
        .toBuffer(),
      type: 'image/png',
      verdict: 'ok',
    },
    { what: '200-frame GIF', bytes: await animation('gif', 200, 16, 16), type: 'image/gif', verdict: 'ok' },
    { what: '100-frame WebP', bytes: await animation('webp', 100, 16, 16), type: 'image/webp', verdict: 'ok' },
    { what: 'JPEG with a 60 KB EXIF', bytes: bigExifJpeg, type: 'image/jpeg', verdict: 'ok' },
    { what: 'PNG with a 400 KB junk eXIf chunk', bytes: withChunks(png, [eXIf]), type: 'image/png', verdict: 'ok' },
    { what: 'truncated PNG (half)', bytes: png.subarray(0, Math.floor(png.length / 2)), type: 'image/png', verdict: 422 },
    { what: 'PNG cut inside IHDR', bytes: png.subarray(0, 20), type: 'image/png', verdict: 422 },
    { what: 'truncated JPEG (half)', bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)), type: 'image/jpeg', verdict: 422 },
    { what: 'truncated AVIF', bytes: avif.subarray(0, Math.floor(avif.length / 2)), type: 'image/avif', verdict: 422 },
    { what: 'PNG signature then random bytes', bytes: Buffer.concat([PNG_MAGIC, randomBytes(4096)]), type: 'image/png', verdict: 422 },
    { what: 'JPEG SOI then random bytes', bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(4096)]), type: 'image/jpeg', verdict: 422 },
    { what: 'PNG with a zTXt bomb (96 MiB inflated)', bytes: withChunks(png, [zTXt]), type: 'image/png', verdict: 422 },
    { what: 'PNG with an iCCP bomb (96 MiB inflated)', bytes: withChunks(png, [iCCP]), type: 'image/png', verdict: 422 },
    { what: 'PNG declaring 100000×100000', bytes: craftedPngHeader(100_000, 100_000), type: 'image/png', verdict: 413 },
    { what: 'JPEG declaring 65000×65000', bytes: await jpegDeclaring(65_000, 65_000), type: 'image/jpeg', verdict: 413 },
    // libvips decodes a GIF at its frame's size, so a huge logical screen alone allocates nothing.
    { what: 'GIF with a 65535×65535 screen around a 1×1 frame', bytes: gifDeclaring(65_535, 65_535), type: 'image/gif', verdict: 'ok' },
    {
      what: 'animated WebP with a 16383×16383 canvas',
      bytes: webpCanvas(16_383, 16_383, await gradient(16, 16).webp({ lossless: true }).toBuffer()),
      type: 'image/webp',
      verdict: 413,
    },
    { what: 'TIFF declaring 100000×100000', bytes: tiffDeclaring(100_000, 100_000), type: 'image/tiff', verdict: 413 },
    {
      what: 'real 2100×2100 PNG over the pixel limit',
      bytes: await sharp({ create: { width: 2100, height: 2100, channels: 3, background: '#336699' } })
        .png()
        .toBuffer(),
      type: 'image/png',
      verdict: 413,
    },
    { what: 'SVG', bytes: svg, type: 'image/svg+xml', verdict: 415 },
    { what: 'SVG sent as image/png', bytes: svg, type: 'image/png', verdict: 415 },
    { what: 'random bytes as image/png', bytes: randomBytes(2048), type: 'image/png', verdict: 415 },
    { what: 'random bytes as image/jpeg', bytes: randomBytes(2048), type: 'image/jpeg', verdict: 415 },
    { what: 'HTML as application/octet-stream', bytes: Buffer.from('<html><body>hi</body></html>'), type: 'application/octet-stream', verdict: 415 },
    { what: 'a BMP', bytes: Buffer.concat([Buffer.from('BM', 'latin1'), randomBytes(200)]), type: 'application/octet-stream', verdict: 415 },
  ];
}
