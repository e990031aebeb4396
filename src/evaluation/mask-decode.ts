import sharp from 'sharp';

export interface ClassMask {
  width: number;
  height: number;
  /** One class index per pixel, row by row. */
  data: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The PLTE chunk's colours of a palette PNG, as 0xRRGGBB; undefined when there is none. */
function paletteOf(png: Buffer): number[] | undefined {
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  for (let at = 8; at + 8 <= png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'PLTE') {
      const colours: number[] = [];
      for (let i = 0; i + 2 < length; i += 3) colours.push((png[at + 8 + i] << 16) | (png[at + 9 + i] << 8) | png[at + 10 + i]);
      return colours;
    }
    if (type === 'IDAT' || type === 'IEND') return undefined;
    at += 12 + length;
  }
  return undefined;
}

/**
 * A mask PNG as class indices: greyscale (the pixel value is the class), or a palette PNG (the
 * palette index is the class, as in PASCAL VOC). libvips expands palettes to colours, so each
 * colour is mapped back to the first palette entry that has it. A colour mask that is neither
 * is refused: its colours do not say which class they are.
 */
export async function decodeClassMask(bytes: Buffer): Promise<ClassMask> {
  const { data, info } = await sharp(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const n = width * height;
  const out = new Uint8Array(n);
  if (channels <= 2) {
    for (let p = 0; p < n; p++) out[p] = data[p * channels]!;
    return { width, height, data: out };
  }
  const palette = paletteOf(bytes);
  const index = new Map<number, number>();
  palette?.forEach((colour, i) => {
    if (!index.has(colour)) index.set(colour, i);
  });
  for (let p = 0; p < n; p++) {
    const o = p * channels;
    const r = data[o];
    const g = data[o + 1];
    const b = data[o + 2];
    if (palette !== undefined) {
      const i = index.get((r << 16) | (g << 8) | b);
      if (i === undefined) throw new Error('a pixel has a colour the palette lacks');
      out[p] = i;
    } else if (r === g && g === b) {
      out[p] = r;
    } else {
      throw new Error('a colour mask: expected greyscale (pixel value = class index) or a palette PNG');
    }
  }
  return { width, height, data: out };
}
