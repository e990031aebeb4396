import ort from 'onnxruntime-node';
import os from 'node:os';
import sharp from 'sharp';

/**
 * What this machine could serve at best for one image model, measured in this process: the cores
 * divided by the CPU one image costs in raw ONNX Runtime at its cheapest configuration (intra-op
 * threads × batch size) plus the CPU sharp spends decoding and resizing the image. No HTTP, no
 * queues, no copies between threads: the bound a server is measured against.
 */
export interface MachineLimit {
  cores: number;
  /** CPU microseconds per image, raw ONNX Runtime at its cheapest configuration. */
  ortCpuUsPerImage: number;
  ortBest: { intraOpThreads: number; batch: number };
  ortByConfig: Record<string, number>;
  /** CPU microseconds per image, sharp decoding the PNG and resizing it to the tensor's size. */
  sharpCpuUsPerImage: number;
  /** Images per second: cores / (ONNX Runtime + sharp CPU per image). */
  imagesPerSec: number;
  /** Images per second: cores / ONNX Runtime CPU per image alone. */
  ortOnlyImagesPerSec: number;
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function ortCpuPerImage(file: string, input: string, item: readonly number[], threads: number, batch: number, seconds: number): Promise<number> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  try {
    const n = item.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n * batch);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 255) / 127.5 - 1;
    const feeds = { [input]: new ort.Tensor('float32', data, [batch, ...item]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const c0 = cpuUs();
    const end = performance.now() + seconds * 1000;
    let images = 0;
    while (performance.now() < end || images < batch * 3) {
      await session.run(feeds);
      images += batch;
    }
    return (cpuUs() - c0) / images;
  } finally {
    await session.release();
  }
}

async function sharpCpuPerImage(png: Buffer, width: number, height: number, seconds: number): Promise<number> {
  const one = () =>
    sharp(png)
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(width, height, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .raw()
      .toBuffer();
  for (let i = 0; i < 10; i++) await one();
  const c0 = cpuUs();
  const end = performance.now() + seconds * 1000;
  let images = 0;
  // A few in flight, as a server has them: libuv's threads decode side by side.
  while (performance.now() < end || images < 20) {
    await Promise.all([one(), one(), one(), one()]);
    images += 4;
  }
  return (cpuUs() - c0) / images;
}

/** Measures the limit for an NCHW float model whose item shape is `item` ([3, H, W]). */
export async function measureMachineLimit(options: {
  file: string;
  input: string;
  item: readonly [number, number, number];
  png: Buffer;
  seconds?: number;
}): Promise<MachineLimit> {
  const cores = os.availableParallelism();
  const seconds = options.seconds ?? 0.6;
  const [, height, width] = options.item;
  const ortByConfig: Record<string, number> = {};
  let best = { intraOpThreads: 1, batch: 1, us: Number.POSITIVE_INFINITY };
  for (const threads of [...new Set([1, cores])]) {
    for (const batch of [1, 8, 16, 32]) {
      const us = await ortCpuPerImage(options.file, options.input, options.item, threads, batch, seconds);
      ortByConfig[`${threads}x${batch}`] = us;
      if (us < best.us) best = { intraOpThreads: threads, batch, us };
    }
  }
  const sharpUs = await sharpCpuPerImage(options.png, width, height, seconds * 2);
  return {
    cores,
    ortCpuUsPerImage: best.us,
    ortBest: { intraOpThreads: best.intraOpThreads, batch: best.batch },
    ortByConfig,
    sharpCpuUsPerImage: sharpUs,
    imagesPerSec: (cores * 1e6) / (best.us + sharpUs),
    ortOnlyImagesPerSec: (cores * 1e6) / best.us,
  };
}
