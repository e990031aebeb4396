/** Multipart bodies that break the form rules: framing, counts, sizes, names, nesting. */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { BOUNDARY, multipart, multipartType, type Part } from './bodies.js';
import { httpCase, type HostileCase } from './cases.js';
import { keepAliveCase, head } from './framing-cases.js';
import type { Limits } from './limits.js';

const PREDICT = '/v1/models/cls/predict';
const JOBS = '/v1/jobs?model=cls';

export async function multipartCases(png: Buffer, limits: Limits): Promise<HostileCase[]> {
  const file = (extra: Partial<Part> = {}): Part => ({ name: 'file', filename: 'a.png', type: 'image/png', data: png, ...extra });
  const cases: HostileCase[] = [];
  /** The same form to predict and to jobs; `ok` means 200 for predict and 202 for a job. */
  const both = (what: string, body: Buffer, expected: string, type = multipartType()) => {
    for (const target of [PREDICT, JOBS]) {
      const e = expected.replace('ok', target === PREDICT ? '200' : '202');
      cases.push(httpCase('multipart', what, { method: 'POST', target, headers: { 'content-type': type }, body }, e));
    }
  };
  const valid = multipart([file()]);
  both('valid form (one file)', valid, 'ok');
  both('no boundary parameter', valid, '400', 'multipart/form-data');
  both('empty boundary parameter', valid, '400', 'multipart/form-data; boundary=');
  // RFC 2046 caps a boundary at 70 characters; reading a longer one is lenient, not wrong.
  both('boundary of 71 characters', multipart([file()], { boundary: 'b'.repeat(71) }), 'ok | 400', multipartType('b'.repeat(71)));
  both('boundary not in the body', valid, '400', multipartType('some-other-boundary'));
  both('truncated in the file data', valid.subarray(0, Math.floor(valid.length / 2)), '400');
  both('no closing delimiter', multipart([file()], { close: false }), '400');
  both('truncated in the part headers', Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-da`), '400');
  both('only the closing delimiter', Buffer.from(`--${BOUNDARY}--\r\n`), '400');
  both('preamble garbage only', Buffer.from('x'.repeat(5000)), '400');
  both(
    'part without Content-Disposition',
    Buffer.from(`--${BOUNDARY}\r\nContent-Type: image/png\r\n\r\n${png.toString('latin1')}\r\n--${BOUNDARY}--\r\n`, 'latin1'),
    '400',
  );
  both('file part without a name', multipart([file({ name: undefined })]), '400');
  both('file part without a filename (a plain field)', multipart([file({ filename: undefined, type: undefined })]), '400');
  both('file under an unknown field name', multipart([file({ name: 'attachment' })]), '400');
  both('a text part instead of the file', multipart([{ name: 'file', data: 'hello' }]), '400');
  both(`${limits.files + 1} files`, multipart(Array.from({ length: limits.files + 1 }, () => file())), '413');
  both('3000 fields', multipart(Array.from({ length: 3000 }, (_, i) => ({ name: `f${i}`, data: 'v' }))), '413');
  both('3000 empty parts', Buffer.from(`${`--${BOUNDARY}\r\n\r\n\r\n`.repeat(3000)}--${BOUNDARY}--\r\n`), '400 | 413');
  both('a 1.5 MiB text field', multipart([file(), { name: 'note', data: 'n'.repeat(1.5 * 1024 * 1024) }]), '413');
  both('a 64 KiB part header', multipart([file({ headers: [`X-Long: ${'h'.repeat(64 * 1024)}`] })]), '400 | 413');
  both('a file over the file limit', multipart([file({ data: Buffer.alloc(limits.fileBytes + 1, 7) })]), '413');
  both(
    'nested multipart/mixed in the file part',
    multipart([{ name: 'file', filename: 'inner', type: 'multipart/mixed; boundary=inner', data: multipart([file()], { boundary: 'inner' }) }]),
    '415',
  );
  both('filename with path traversal', multipart([file({ filename: '../../../etc/passwd' })]), 'ok');
  both('filename with a NUL byte', multipart([file({ filename: 'a\u0000b.png' })]), 'ok | 400');
  both('part Content-Type text/plain over PNG bytes', multipart([file({ type: 'text/plain' })]), 'ok');
  both('random bytes as the file', multipart([file({ data: Buffer.from('not an image at all, just text') })]), '415');
  both('empty file', multipart([file({ data: Buffer.alloc(0) })]), '400');
  both(
    'Content-Transfer-Encoding: base64 part',
    multipart([file({ data: png.toString('base64'), headers: ['Content-Transfer-Encoding: base64'] })]),
    '400 | 415',
  );
  cases.push(
    httpCase(
      'multipart',
      'jobs: model field and ?model= disagree',
      { method: 'POST', target: JOBS, headers: { 'content-type': multipartType() }, body: multipart([{ name: 'model', data: 'other' }, file()]) },
      '400',
    ),
    httpCase(
      'multipart',
      'jobs: two files',
      { method: 'POST', target: JOBS, headers: { 'content-type': multipartType() }, body: multipart([file(), file()]) },
      '400',
    ),
    httpCase(
      'multipart',
      'jobs: unknown field',
      { method: 'POST', target: JOBS, headers: { 'content-type': multipartType() }, body: multipart([{ name: 'priority', data: 'high' }, file()]) },
      '400',
    ),
  );
  // Keep-alive after an upload: the next request on the connection is answered.
  for (const side of [100, 200]) {
    // Noise does not compress: a side of 100 is about 30 KB of PNG, 200 about 120 KB.
    const big = await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } })
      .png()
      .toBuffer();
    const size = Math.round(big.length / 1024);
    const form = multipart([file({ data: big })]);
    cases.push(
      keepAliveCase(
        `a ${size} KB multipart upload then GET /health/live`,
        'POST',
        PREDICT,
        '200,200',
        (p) => [
          Buffer.concat([Buffer.from(head(p, 'POST', PREDICT, [`content-type: ${multipartType()}`, `content-length: ${form.length}`])), form]),
          Buffer.from(head(p, 'GET', '/health/live', [])),
        ],
        'multipart',
      ),
    );
  }
  return cases;
}
