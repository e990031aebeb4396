import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SightlineError } from '../dist/src/errors.js';
import { base64BatchImage, base64Image, decodeBase64 } from '../dist/src/http/schemas/field-types.js';
import { issuesError } from '../dist/src/http/schemas/issue-error.js';

const bytes = (value: Buffer | string) => (typeof value === 'string' ? value : [...value]);

describe('base64 image fields', () => {
  it('decodes canonical base64 and data: URLs to the exact bytes', () => {
    const image = randomBytes(50 * 1024 + 1);
    expect(decodeBase64(image.toString('base64'))).toEqual(image);
    expect(decodeBase64(`data:image/png;base64,${image.toString('base64')}`)).toEqual(image);
    expect(bytes(decodeBase64(''))).toEqual([]);
    expect(bytes(decodeBase64('AQID'))).toEqual([1, 2, 3]);
  });

  it('accepts what the canonical form does not cover: line breaks, missing padding, unused trailing bits', () => {
    const image = randomBytes(3000);
    const wrapped = image.toString('base64').replace(/.{76}/g, '$&\r\n');
    expect(decodeBase64(wrapped)).toEqual(image);
    expect(bytes(decodeBase64('AQ'))).toEqual([1]);
    expect(bytes(decodeBase64('AQI'))).toEqual([1, 2]);
    expect(bytes(decodeBase64('AR=='))).toEqual([1]);
    expect(bytes(decodeBase64(' AQID\n'))).toEqual([1, 2, 3]);
  });

  it('refuses everything outside the standard alphabet, with the reason', () => {
    for (const bad of ['@@@', 'A', 'AQID=', 'AQ===', 'A=QI', 'AQ-_', 'AQ_D', 'AQID!', 'é==='])
      expect([bad, decodeBase64(bad)]).toEqual([bad, 'not valid base64']);
    expect(decodeBase64('data:image/png,AQID')).toBe('data URL must be base64-encoded');
    expect(decodeBase64('data:image/png;base64')).toBe('data URL must be base64-encoded');
  });

  it('refuses a data URL that declares a type other than an image with 415 naming the field, and in a batch only that item', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64');
    const refused = base64Image().safeParse(`data:text/plain;base64,${png}`);
    expect(refused.success).toBe(false);
    const error = issuesError(
      refused.error!.issues.map((i) => ({ ...i, path: ['image'] })),
      {},
    );
    expect([error.status, error.code, error.message, error.details]).toEqual([
      415,
      'unsupported_media_type',
      'image: is a data URL of text/plain, not an image',
      { field: 'image' },
    ]);
    // Image types, a bare `data:;base64,` and plain base64 are judged by their bytes later.
    for (const ok of [`data:image/png;base64,${png}`, `data:;base64,${png}`, png]) expect(base64Image().safeParse(ok).success, ok).toBe(true);
    const item = base64BatchImage().parse(`data:Application/JSON;base64,${png}`);
    expect(item instanceof SightlineError && [item.status, item.message]).toEqual([415, 'is a data URL of application/json, not an image']);
  });
});
