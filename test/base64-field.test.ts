import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../dist/src/http/schemas/field-types.js';

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
});
