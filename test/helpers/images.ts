/**
 * Test images generated on the fly with sharp, plus hand-crafted headers for inputs sharp will not write
 * (decompression bombs, HEIC brands). Every image is described by its exact pixels so tests can assert values.
 */
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export type Rgb = readonly [number, number, number];
export type EncodeFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif';

/** Raw RGB pixels (HWC) of size w×h, each pixel from `colour(x, y)`. */
export function rgbPixels(width: number, height: number, colour: (x: number, y: number) => Rgb): Buffer {
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colour(x, y);
      const o = (y * width + x) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return out;
}

/** Lossless (or as close as the format allows) encodings, so decoded pixels equal the source where the format permits. */
export function encode(sharpImage: sharp.Sharp, format: EncodeFormat): Promise<Buffer> {
  switch (format) {
    case 'png':
      return sharpImage.png().toBuffer();
    case 'jpeg':
      return sharpImage.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    case 'webp':
      return sharpImage.webp({ lossless: true }).toBuffer();
    case 'gif':
      return sharpImage.gif().toBuffer();
    case 'tiff':
      return sharpImage.tiff({ compression: 'lzw' }).toBuffer();
    case 'avif':
      return sharpImage.avif({ lossless: true }).toBuffer();
  }
}

export function fromRaw(pixels: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4 = 3): sharp.Sharp {
  return sharp(pixels, { raw: { width, height, channels } });
}

/** A w×h image of one colour. */
export function solidImage(format: EncodeFormat, width: number, height: number, colour: Rgb): Promise<Buffer> {
  return encode(
    fromRaw(
      rgbPixels(width, height, () => colour),
      width,
      height,
    ),
    format,
  );
}

/** Left half `left`, right half `right` (x < width/2 is left). */
export function splitImage(format: EncodeFormat, width: number, height: number, left: Rgb, right: Rgb): Promise<Buffer> {
  return encode(
    fromRaw(
      rgbPixels(width, height, (x) => (x < width / 2 ? left : right)),
      width,
      height,
    ),
    format,
  );
}

/** Top half `top`, bottom half `bottom` (y < height/2 is top). */
export function stackedImage(format: EncodeFormat, width: number, height: number, top: Rgb, bottom: Rgb): Promise<Buffer> {
  return encode(
    fromRaw(
      rgbPixels(width, height, (_x, y) => (y < height / 2 ? top : bottom)),
      width,
      height,
    ),
    format,
  );
}

/** Horizontal grey ramp: pixel (x, y) = x·step in every channel. */
export function gradientImage(format: EncodeFormat, width: number, height: number, step = 1): Promise<Buffer> {
  return encode(
    fromRaw(
      rgbPixels(width, height, (x) => [x * step, x * step, x * step]),
      width,
      height,
    ),
    format,
  );
}

/** A stored image with an EXIF Orientation tag, e.g. 6 = "rotate 90° clockwise to display". */
export function orientedImage(format: 'jpeg' | 'png' | 'webp' | 'tiff', pixels: Buffer, width: number, height: number, orientation: number): Promise<Buffer> {
  return encode(fromRaw(pixels, width, height).withMetadata({ orientation }), format);
}

/** An RGBA PNG from raw RGBA pixels. */
export function rgbaPng(pixels: Buffer, width: number, height: number): Promise<Buffer> {
  return fromRaw(pixels, width, height, 4).png().toBuffer();
}

/** A two-frame animated GIF: frame 0 solid `first`, frame 1 solid `second`. */
export function twoFrameGif(width: number, height: number, first: Rgb, second: Rgb): Promise<Buffer> {
  const frames = Buffer.concat([rgbPixels(width, height, () => first), rgbPixels(width, height, () => second)]);
  return sharp(frames, { raw: { width, height: height * 2, channels: 3, pageHeight: height } })
    .gif()
    .toBuffer();
}

/** The PNG file signature. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk with its length and CRC, so only what a test means to break is broken. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid-looking RGB PNG whose header declares width×height but whose data is a few hundred bytes:
 * a decompression bomb in miniature. Decoding it would need width·height·3 bytes.
 */
export function craftedPngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(1024))), pngChunk('IEND', Buffer.alloc(0))]);
}

/** An ISO-BMFF `ftyp` box with the given major and compatible brands, followed by `tail`. */
export function ftypBox(major: string, compatible: string[], tail: Buffer = Buffer.alloc(0)): Buffer {
  const size = 16 + compatible.length * 4;
  const box = Buffer.alloc(size);
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + i * 4, 'latin1'));
  return Buffer.concat([box, tail]);
}

/** The RGB triple at (x, y) of HWC pixels of the given width. */
export function pixelAt(pixels: Uint8Array, width: number, x: number, y: number): [number, number, number] {
  const o = (y * width + x) * 3;
  return [pixels[o], pixels[o + 1], pixels[o + 2]];
}
