import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../dist/src/engine/manifest.js';
import { ModelVersion } from '../dist/src/engine/model-version.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';

const onnx = linearClassifier({ classes: 3 }).bytes;
const manifest = { task: 'classify', input: plainInput, head: { labels: ['r', 'g', 'b'] } };

describe('manifest memoryArena', () => {
  it("keeps ONNX Runtime's CPU arena on unless a manifest turns it off", () => {
    const dir = makeModelRepo({ plain: { onnx, manifest }, lean: { onnx, manifest: { ...manifest, memoryArena: false } } });
    expect(loadManifest(path.join(dir, 'plain')).memoryArena).toBe(true);
    expect(loadManifest(path.join(dir, 'lean')).memoryArena).toBe(false);
  });

  it('refuses a value that is not a boolean, naming the file and the field', () => {
    const dir = makeModelRepo({ odd: { onnx, manifest: { ...manifest, memoryArena: 'off' } } });
    expect(() => loadManifest(path.join(dir, 'odd'))).toThrow(/odd[/\\]model\.json: memoryArena: /);
  });

  it('serves the same answers with the arena off', async () => {
    const dir = makeModelRepo({ lean: { onnx, manifest: { ...manifest, memoryArena: false } } });
    const version = new ModelVersion(loadManifest(path.join(dir, 'lean')), 1);
    try {
      await version.start();
      // A pure blue image (RGB, row-major): the classifier's third class.
      const pixels = new Uint8Array(8 * 8 * 3).map((_, i) => (i % 3 === 2 ? 255 : 0));
      const image = { pixels, width: 8, height: 8, original: { width: 8, height: 8 }, transform: { scale: 1, scaleX: 1, scaleY: 1, padX: 0, padY: 0 } };
      const result = await version.batcher.enqueue(image as never);
      expect((result.output.value as { label: string }).label).toBe('b');
    } finally {
      await version.retire();
    }
  });
});
