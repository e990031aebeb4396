import sharp from 'sharp';

/** Black text on white, rendered by sharp (librsvg + pango) — a real image, no fixture file. */
export async function textImage(text: string, options: { width?: number; height?: number; rotate180?: boolean; x?: number } = {}): Promise<Buffer> {
  const width = options.width ?? 400;
  const height = options.height ?? 64;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${options.x ?? 10}" y="${height * 0.7}" font-family="DejaVu Sans" font-size="${height * 0.55}" fill="black">${text}</text></svg>`;
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  return options.rotate180 ? sharp(png).rotate(180).png().toBuffer() : png;
}
