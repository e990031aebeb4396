import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throwaway model repository: each entry becomes `<dir>/<name>/model.json` (+ `model.onnx`). */
export function makeModelRepo(models: Record<string, { manifest: Record<string, unknown>; onnx?: Uint8Array }>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-repo-'));
  for (const [name, { manifest, onnx }] of Object.entries(models)) {
    writeModel(dir, name, manifest, onnx);
  }
  return dir;
}

export function writeModel(dir: string, name: string, manifest: Record<string, unknown>, onnx?: Uint8Array): void {
  mkdirSync(path.join(dir, name), { recursive: true });
  if (onnx) writeFileSync(path.join(dir, name, 'model.onnx'), onnx);
  writeFileSync(path.join(dir, name, 'model.json'), JSON.stringify({ file: 'model.onnx', ...manifest }, null, 2));
}

/** An 8×8 RGB input, stretched, pixel/255 with no mean/std: a solid colour c gives channel means c/255. */
export const plainInput = { resize: 'stretch', width: 8, height: 8, colorOrder: 'RGB' };
