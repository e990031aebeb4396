import type { DatasetFiles } from './dataset-files.js';
import { type DatasetProblem, isImage, isMask, maskFile, type SegmentSampleSpec } from './dataset.js';

/** Every image with its mask (`<stem>.mask.png` beside it, or `<stem>.png` under `masks/`); an image without one is reported. */
export function readMasks(files: DatasetFiles): { samples: SegmentSampleSpec[]; problems: DatasetProblem[] } {
  const samples: SegmentSampleSpec[] = [];
  const problems: DatasetProblem[] = [];
  for (const file of files.paths) {
    if (!isImage(file) || isMask(file)) continue;
    const mask = maskFile(files, file);
    if (mask === undefined) problems.push({ file, message: 'no mask for this image (expected <name>.mask.png beside it, or masks/<name>.png)' });
    else samples.push({ file, mask });
  }
  return { samples, problems };
}
