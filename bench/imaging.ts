import path from 'node:path';
import { crc32 } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadManifest } from '../src/engine/manifest.js';
import { decodeForModel } from '../src/imaging/index.js';
import { writeResults } from './results-file.js';

/**
 * Main-thread cost of preparing one image for the text-direction classifier: event-loop busy
 * time (what the thread that also serves HTTP spends) and wall time per image, with a few
 * decodes in flight as under load. Each PNG is measured as it is and with a private ancillary
 * chunk added, which sends the same pixels through libvips' decoder (sharp's call on this
 * thread, decoding in libuv's threads): the way every PNG went before the plain-PNG decoder.
 * Rounds interleave the two and the median is reported. `node dist/bench/imaging.js [rounds]`.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = loadManifest(path.join(root, 'models', 'text-direction')).imageSpec;
const rounds = Number(process.argv[2] ?? 7);
const perRound = 2000;
const inFlight = 8;

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** The same PNG with a chunk the plain decoder does not know, so libvips decodes it. */
function viaLibvips(png: Buffer): Buffer {
  const at = png.indexOf('IDAT', 8, 'latin1') - 4;
  return Buffer.concat([png.subarray(0, at), chunk('prVt', Buffer.from('bench')), png.subarray(at)]);
}

const textLine = (width: number) =>
  sharp(
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="48"><rect width="100%" height="100%" fill="white"/><text x="8" y="34" font-family="DejaVu Sans" font-size="26">Invoice 2026-11 total</text></svg>`,
    ),
  )
    .removeAlpha()
    .png()
    .toBuffer();

async function measure(png: Buffer): Promise<{ busyUs: number; wallUs: number }> {
  let next = 0;
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < perRound) await decodeForModel(png, spec);
    }),
  );
  const wall = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  return { busyUs: (elu.active * 1000) / perRound, wallUs: (wall * 1000) / perRound };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const images: Record<string, Buffer> = { 'text line 192×48': await textLine(192), 'text line 320×48': await textLine(320) };
const ratios: Record<string, number> = {};
const figures: Record<string, unknown> = {};
for (const [name, png] of Object.entries(images)) {
  const variants = { plain: png, libvips: viaLibvips(png) };
  for (const bytes of Object.values(variants)) await measure(bytes);
  const busy: Record<string, number[]> = { plain: [], libvips: [] };
  const wall: Record<string, number[]> = { plain: [], libvips: [] };
  for (let r = 0; r < rounds; r++) {
    for (const [variant, bytes] of Object.entries(variants)) {
      const m = await measure(bytes);
      busy[variant].push(m.busyUs);
      wall[variant].push(m.wallUs);
    }
  }
  const f = {
    plainBusyUs: median(busy.plain),
    libvipsBusyUs: median(busy.libvips),
    plainWallUs: median(wall.plain),
    libvipsWallUs: median(wall.libvips),
  };
  figures[name] = f;
  console.log(
    `${name}: main thread ${f.libvipsBusyUs.toFixed(0)} µs/image via libvips, ${f.plainBusyUs.toFixed(0)} µs decoded here` +
      ` (wall ${f.libvipsWallUs.toFixed(0)} → ${f.plainWallUs.toFixed(0)} µs/image, ${inFlight} in flight)`,
  );
  const key = name.includes('192') ? '192x48' : '320x48';
  ratios[`imaging.png_${key}.main_thread_libvips_over_plain`] = f.libvipsBusyUs / f.plainBusyUs;
}
for (const [k, v] of Object.entries(ratios)) console.log(`${k} = ${v.toFixed(2)}`);
console.log(`wrote ${writeResults('imaging', { ratios, rounds, perRound, inFlight, figures })}`);
