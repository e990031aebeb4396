/**
 * Every hostile image through every route that takes an image: predict (raw body, multipart,
 * base64 JSON), jobs, and detection snapshots. One image check holds for all of them.
 */
import { detection, multipart, multipartType } from './bodies.js';
import { httpCase, type HostileCase } from './cases.js';
import type { HostileImage } from './images.js';

const PREDICT = '/v1/models/cls/predict';

export function imageCases(images: HostileImage[]): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const img of images) {
    const want = (ok: string) => (img.verdict === 'ok' ? ok : String(img.verdict));
    const b64 = img.bytes.toString('base64');
    cases.push(
      httpCase(
        'image',
        `${img.what} (raw body)`,
        { method: 'POST', target: PREDICT, headers: { 'content-type': img.type }, body: img.bytes },
        img.type === 'image/svg+xml' ? '415' : want('200'),
      ),
      httpCase(
        'image',
        `${img.what} (multipart)`,
        {
          method: 'POST',
          target: PREDICT,
          headers: { 'content-type': multipartType() },
          body: multipart([{ name: 'file', filename: 'x', type: img.type, data: img.bytes }]),
        },
        want('200'),
      ),
      httpCase(
        'image',
        `${img.what} (base64 JSON)`,
        { method: 'POST', target: PREDICT, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: b64 }) },
        want('200'),
      ),
      httpCase(
        'image',
        `${img.what} (job)`,
        {
          method: 'POST',
          target: '/v1/jobs?model=cls',
          headers: { 'content-type': img.type === 'image/svg+xml' ? 'application/octet-stream' : img.type },
          body: img.bytes,
        },
        want('202'),
      ),
      httpCase(
        'image',
        `${img.what} (detection snapshot)`,
        {
          method: 'POST',
          target: '/v1/detections',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(detection({ cameraId: 'image-cam', image: b64 })),
        },
        want('201'),
      ),
    );
  }
  return cases;
}
