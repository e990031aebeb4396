/** Request bodies the hostile cases start from: valid ones, so each case breaks one thing. */

export const BOUNDARY = 'hostile-boundary-7f3a';

export interface Part {
  name?: string;
  filename?: string;
  type?: string;
  /** Extra header lines of the part, verbatim. */
  headers?: string[];
  data: Buffer | string;
}

/** A multipart/form-data body; `close: false` leaves out the closing delimiter. */
export function multipart(parts: Part[], options: { boundary?: string; close?: boolean } = {}): Buffer {
  const boundary = options.boundary ?? BOUNDARY;
  const out: Buffer[] = [];
  for (const p of parts) {
    const disposition = [
      'form-data',
      ...(p.name !== undefined ? [`name="${p.name}"`] : []),
      ...(p.filename !== undefined ? [`filename="${p.filename}"`] : []),
    ].join('; ');
    const lines = [`--${boundary}`, `Content-Disposition: ${disposition}`, ...(p.type ? [`Content-Type: ${p.type}`] : []), ...(p.headers ?? [])];
    out.push(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
  }
  if (options.close !== false) out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

export const multipartType = (boundary = BOUNDARY) => `multipart/form-data; boundary=${boundary}`;

/** A valid detection as a camera posts it. */
export function detection(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { cameraId: 'hostile-cam', trackId: '1', label: 'car', confidence: 0.5, detectedAt: 1_767_225_600_000, ...overrides };
}
