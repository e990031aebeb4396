import { describe, expect, it } from 'vitest';
import { describeUnsupportedImage, sniffImage } from '../dist/src/imaging/index.js';
import { ftypBox, solidImage, type EncodeFormat } from './helpers/images.js';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffImage on real encodings', () => {
  const cases: [EncodeFormat, string][] = [
    ['png', 'image/png'],
    ['jpeg', 'image/jpeg'],
    ['webp', 'image/webp'],
    ['gif', 'image/gif'],
    ['tiff', 'image/tiff'],
    ['avif', 'image/avif'],
  ];
  for (const [format, mediaType] of cases) {
    it(`identifies ${format}`, async () => {
      const image = await solidImage(format, 4, 4, [10, 20, 30]);
      expect(sniffImage(image)).toEqual({ format, mediaType });
    });
  }
});

describe('sniffImage signature table', () => {
  const table: [string, Uint8Array, string | undefined][] = [
    ['JPEG SOI + marker', bytes([0xff, 0xd8, 0xff, 0xe0]), 'jpeg'],
    ['PNG signature', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'png'],
    ['GIF87a', bytes('GIF87a'), 'gif'],
    ['GIF89a', bytes('GIF89a'), 'gif'],
    ['RIFF/WEBP', bytes('RIFF', [0, 0, 0, 0], 'WEBP'), 'webp'],
    ['TIFF little-endian', bytes('II*', [0]), 'tiff'],
    ['TIFF big-endian', bytes('MM', [0], '*'), 'tiff'],
    ['BigTIFF little-endian', bytes('II+', [0]), 'tiff'],
    ['AVIF major brand', ftypBox('avif', ['mif1', 'miaf']), 'avif'],
    ['AVIF sequence brand', ftypBox('avis', []), 'avif'],
    ['HEIF major with avif compatible brand', ftypBox('mif1', ['miaf', 'avif']), 'avif'],
    // Truncated headers: one byte short of each signature.
    ['empty', bytes(), undefined],
    ['JPEG cut to 2 bytes', bytes([0xff, 0xd8]), undefined],
    ['PNG cut to 7 bytes', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a]), undefined],
    ['GIF cut to 5 bytes', bytes('GIF89'), undefined],
    ['WEBP cut to 11 bytes', bytes('RIFF', [0, 0, 0, 0], 'WEB'), undefined],
    ['TIFF cut to 3 bytes', bytes('II*'), undefined],
    ['ftyp cut before the major brand ends', ftypBox('avif', []).subarray(0, 11), undefined],
    // Look-alikes and other types.
    ['RIFF/WAVE', bytes('RIFF', [0, 0, 0, 0], 'WAVE'), undefined],
    ['GIF90a', bytes('GIF90a'), undefined],
    ['HEIC', ftypBox('heic', ['mif1', 'heic']), undefined],
    ['generic HEIF', ftypBox('mif1', ['miaf']), undefined],
    ['MP4 video', ftypBox('isom', ['iso2', 'mp41']), undefined],
    ['ftyp declaring an impossible size', Buffer.concat([bytes([0, 0, 0, 8], 'ftypavif'), bytes([0, 0, 0, 0])]), undefined],
    ['avif brand just past the end of the ftyp box', Buffer.concat([ftypBox('mif1', []), bytes('avif')]), undefined],
    ['plain text', bytes('hello, world\n'), undefined],
    ['JSON', bytes('{"image":"data"}'), undefined],
    ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'), undefined],
    ['PDF', bytes('%PDF-1.7\n'), undefined],
    ['BMP', Buffer.concat([bytes('BM'), Buffer.alloc(60)]), undefined],
    ['base64 of a PNG', bytes('iVBORw0KGgoAAAANSUhEUg=='), undefined],
  ];
  for (const [name, input, format] of table) {
    it(`${name} → ${format ?? 'unrecognised'}`, () => {
      const result = sniffImage(input);
      if (format === undefined) expect(result).toBeUndefined();
      else expect(result?.format).toBe(format);
    });
  }

  it('ignores trailing bytes and only looks at the head', () => {
    expect(sniffImage(Buffer.concat([bytes('GIF89a'), Buffer.alloc(10_000, 0xff)]))?.format).toBe('gif');
    expect(sniffImage(Buffer.concat([bytes('   '), bytes('GIF89a')]))).toBeUndefined();
  });
});

describe('describeUnsupportedImage', () => {
  const table: [string, Uint8Array, string | undefined][] = [
    ['HEIC', ftypBox('heic', ['mif1', 'heic']), 'HEIC (HEVC-coded HEIF)'],
    ['HEIF with only generic brands', ftypBox('mif1', ['miaf']), 'HEIF without AV1 content'],
    ['MP4', ftypBox('isom', ['mp41']), 'ISO media (brand "isom")'],
    ['SVG', bytes('  <svg width="1"/>'), 'SVG'],
    ['XML-prologued SVG', bytes('<?xml version="1.0"?>\n<svg/>'), 'SVG'],
    ['PDF', bytes('%PDF-1.4'), 'PDF'],
    ['BMP', Buffer.concat([bytes('BM'), Buffer.alloc(60)]), 'BMP'],
    ['JPEG XL codestream', bytes([0xff, 0x0a, 0, 0]), 'JPEG XL'],
    ['plain text', bytes('just words'), undefined],
    ['empty', bytes(), undefined],
  ];
  for (const [name, input, label] of table) {
    it(`${name} → ${label ?? 'unknown'}`, () => expect(describeUnsupportedImage(input)).toBe(label));
  }
});
