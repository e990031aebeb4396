/**
 * Framing headers a proxy in front and uWebSockets.js could read differently. uWS frames a body by
 * the first Content-Length it sees and treats any Transfer-Encoding as chunked; a proxy may pick
 * the last Content-Length or honour another coding, and then the two disagree on where the next
 * request starts. Such requests are refused outright rather than interpreted.
 */
export function framingProblem(headers: Readonly<Record<string, string>>, repeated: string | undefined): string | undefined {
  if (repeated !== undefined) return `more than one ${repeated} header`;
  const length = headers['content-length'];
  const coding = headers['transfer-encoding'];
  if (length !== undefined && coding !== undefined) return 'both Content-Length and Transfer-Encoding';
  if (length !== undefined && !/^\d+$/.test(length)) return `Content-Length ${JSON.stringify(length)} is not a length`;
  // Transfer-coding names are case-insensitive; only plain chunked is framed the same by everyone.
  if (coding !== undefined && coding.toLowerCase() !== 'chunked') return `Transfer-Encoding ${JSON.stringify(coding)} is not supported; only chunked is`;
  return undefined;
}

/** Headers whose repetition makes the framing ambiguous. */
export function isFramingHeader(name: string): boolean {
  return name === 'content-length' || name === 'transfer-encoding';
}
