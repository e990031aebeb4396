/** Base64 and data: URL image fields: alphabet, padding, declared types, sizes. */
import { detection } from './bodies.js';
import { httpCase, type HostileCase } from './cases.js';
import type { Limits } from './limits.js';

export function base64Cases(png: Buffer, limits: Limits): HostileCase[] {
  const b64 = png.toString('base64');
  const values: Array<[string, string, string]> = [
    ['invalid alphabet (!)', `${b64.slice(0, 40)}!!!!${b64.slice(44)}`, '400'],
    ['URL-safe alphabet', b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') + '-_', '400'],
    ['padding in the middle', `${b64.slice(0, 8)}==${b64.slice(8)}`, '400'],
    ['too much padding', `${b64.replace(/=+$/, '')}===`, '400'],
    ['a single character', 'A', '400'],
    ['only padding', '====', '400'],
    ['whitespace only', '   \n  ', '400'],
    ['NUL characters', `${b64.slice(0, 12)}\u0000\u0000${b64.slice(12)}`, '400'],
    ['non-ASCII letters', `${b64.slice(0, 12)}éü${b64.slice(12)}`, '400'],
    ['data URL without ;base64', `data:image/png,${b64}`, '400'],
    ['data URL without a comma', `data:image/png;base64${b64}`, '400'],
    ['data URL of text/plain', `data:text/plain;base64,${b64}`, '415'],
    ['data URL of application/json over non-image bytes', `data:application/json;base64,${Buffer.from('{"a":1}').toString('base64')}`, '415'],
    ['data URL with an empty payload', 'data:image/png;base64,', '400'],
    ['data URL with bad base64', 'data:image/png;base64,@@@@', '400'],
    ['base64 of text', Buffer.from('just some text, not an image').toString('base64'), '415'],
    ['base64 decoding past the file limit', Buffer.concat([png.subarray(0, 8), Buffer.alloc(limits.fileBytes + 1024)]).toString('base64'), '413'],
    ['a 900 KiB string of "A"', 'A'.repeat(900 * 1024), '413'],
    ['mixed line breaks (valid)', b64.replace(/.{60}/g, '$&\r\n'), 'ok'],
    ['missing padding (valid)', b64.replace(/=+$/, ''), 'ok'],
    ['data URL (valid)', `data:image/png;base64,${b64}`, 'ok'],
  ];
  const cases: HostileCase[] = [];
  const routes: Array<[string, (v: string) => unknown, string]> = [
    ['/v1/models/cls/predict', (v) => ({ image: v }), '200'],
    ['/v1/models/cls/predict', (v) => ({ images: [b64, v] }), '200'],
    ['/v1/jobs', (v) => ({ model: 'cls', image: v }), '202'],
    ['/v1/detections', (v) => detection({ cameraId: 'b64-cam', image: v }), '201'],
  ];
  for (const [target, wrap, ok] of routes) {
    for (const [what, value, expected] of values) {
      const body = wrap(value) as Record<string, unknown>;
      const form = 'images' in body ? 'images[1]' : 'image';
      // A batch answers an image that fails its checks (415, 413, 422) with an error entry, not a failed
      // request; a value that breaks the field's rule (not base64 at all) is a 400 naming the field.
      const want = expected === 'ok' ? ok : form === 'images[1]' && expected !== '400' ? '200 with an error entry' : expected;
      const c = httpCase(
        'base64',
        `${form} ${what}`,
        { method: 'POST', target, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
        want,
      );
      if (form === 'images[1]') {
        const run = c.run;
        c.run = async (port) => {
          const out = await run(port);
          if (out.got !== '200') return out;
          const answer = JSON.parse(out.body ?? '{}') as { results?: Array<{ error?: unknown }> };
          const entryError = answer.results?.[1]?.error !== undefined;
          return { ...out, got: entryError ? '200 with an error entry' : '200' };
        };
      }
      cases.push(c);
    }
  }
  return cases;
}
