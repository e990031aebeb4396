/** Strict: a text frame that is not UTF-8 is refused, never read with replacement characters. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a text frame, or undefined when its bytes are not UTF-8 (RFC 6455 §8.1: close with 1007). */
export function textOfFrame(data: ArrayBuffer): string | undefined {
  try {
    return UTF8.decode(data);
  } catch {
    return undefined;
  }
}
