import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngChunk as chunk, PNG_SIGNATURE as SIGNATURE } from './helpers/images.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';

type Json = Record<string, any>;

/** A valid PNG with `extra` inserted right after IHDR. */
function withChunkAfterHeader(png: Buffer, extra: Buffer): Buffer {
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, ihdrEnd), extra, png.subarray(ihdrEnd)]);
}

/** 200 MiB of zeros deflated to about 200 KB: a decompression bomb inside a metadata chunk. */
const BOMB = zlib.deflateSync(Buffer.alloc(200 * 1024 * 1024), { level: 9 });

function hugeHeaderPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

const repoDir = makeModelRepo({
  cls: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['r', 'g', 'b'] } } },
});

describe('one image check for every route that takes an image', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const images: Record<string, Buffer> = {};

  beforeAll(async () => {
    server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir });
    await server.modelsLoaded;
    const pixels = Buffer.from(Array.from({ length: 128 * 128 * 3 }, (_, i) => (i * 7919) % 251));
    const noisy = await sharp(pixels, { raw: { width: 128, height: 128, channels: 3 } })
      .png()
      .toBuffer();
    images.truncated = noisy.subarray(0, Math.floor(noisy.length / 2));
    images.zTXt = withChunkAfterHeader(noisy, chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), BOMB])));
    images.iCCP = withChunkAfterHeader(noisy, chunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), BOMB])));
    images.huge = hugeHeaderPng(100_000, 100_000);
  });

  afterAll(async () => {
    await server?.close();
  });

  const predict = (img: Buffer) => fetch(`${server.url}/v1/models/cls/predict`, { method: 'POST', body: img, headers: { 'content-type': 'image/png' } });
  const job = (img: Buffer) => fetch(`${server.url}/v1/jobs?model=cls`, { method: 'POST', body: img, headers: { 'content-type': 'image/png' } });
  const detection = (img: Buffer) =>
    fetch(`${server.url}/v1/detections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cameraId: 'cam', trackId: 't', label: 'car', confidence: 0.5, detectedAt: 0, image: img.toString('base64') }),
    });
  const answer = async (res: Response) => [res.status, ((await res.json()) as Json).error?.code];

  it.each([
    ['truncated', 422, 'undecodable_image'],
    ['zTXt', 422, 'undecodable_image'],
    ['iCCP', 422, 'undecodable_image'],
    ['huge', 413, 'payload_too_large'],
  ])('refuses a %s PNG alike on predict, jobs and detections, storing nothing', async (name, status, code) => {
    const img = images[name];
    expect(await answer(await predict(img)), 'predict').toEqual([status, code]);
    expect(await answer(await job(img)), 'jobs').toEqual([status, code]);
    expect(await answer(await detection(img)), 'detections').toEqual([status, code]);
    const sha = createHash('sha256').update(img).digest('hex');
    expect((await fetch(`${server.url}/v1/images/${sha}`)).status).toBe(404);
    expect(((await (await fetch(`${server.url}/v1/jobs`)).json()) as Json).items).toEqual([]);
    expect(((await (await fetch(`${server.url}/v1/detections`)).json()) as Json).items).toEqual([]);
  });
});
