/** Reading an image file's own bytes: magic numbers, big-endian fields and four-character codes. */

export const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean => {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
};

export const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** An unsigned 32-bit big-endian field (PNG lengths, sizes and CRCs, ISO-BMFF box sizes). */
export const u32 = (b: Uint8Array, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** Four bytes as text: a PNG chunk type, an ISO-BMFF box type or brand. */
export const fourcc = (b: Uint8Array, at: number): string => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
