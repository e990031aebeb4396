import type { DatasetFiles } from './dataset-files.js';
import type { Box } from './detect-metrics.js';
import { type DatasetProblem, type DetectSampleSpec, isImage, isMask, linesOf, type TruthBox, utf8Text, yoloLabelFile } from './dataset.js';

interface Read {
  samples: DetectSampleSpec[];
  problems: DatasetProblem[];
}

/** How far (pixels, or a fraction for YOLO) a box may poke out of its image before it is refused. */
const PIXEL_SLACK = 0.5;
const FRACTION_SLACK = 1e-3;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * COCO's detection format: `images` (id, file_name, width, height), `annotations` (image_id,
 * category_id, bbox `[x, y, w, h]` in pixels) and `categories` (id, name). Categories match the
 * model's labels by name. Crowd annotations (`iscrowd: 1`) are left out, uncounted.
 */
export async function readCoco(files: DatasetFiles, labels: readonly string[]): Promise<Read> {
  const problems: DatasetProblem[] = [];
  const where = 'annotations.json';
  let doc: unknown;
  try {
    doc = JSON.parse(utf8Text(await files.read(where)));
  } catch (err) {
    return { samples: [], problems: [{ file: where, message: `not valid JSON: ${(err as Error).message}` }] };
  }
  if (!isObject(doc) || !Array.isArray(doc.images) || !Array.isArray(doc.annotations) || !Array.isArray(doc.categories)) {
    return { samples: [], problems: [{ file: where, message: 'expected an object with "images", "annotations" and "categories" arrays' }] };
  }
  const index = new Map(labels.map((l, i) => [l, i]));
  const categories = new Map<number, number | string>();
  for (const [i, c] of doc.categories.entries()) {
    if (!isObject(c) || !isNumber(c.id) || typeof c.name !== 'string') {
      problems.push({ file: `${where}: categories[${i}]`, message: 'expected {id, name}' });
      continue;
    }
    const label = index.get(c.name);
    categories.set(c.id, label ?? c.name);
  }
  const byId = new Map<number, DetectSampleSpec>();
  const samples: DetectSampleSpec[] = [];
  for (const [i, image] of doc.images.entries()) {
    if (!isObject(image) || !isNumber(image.id) || typeof image.file_name !== 'string') {
      problems.push({ file: `${where}: images[${i}]`, message: 'expected {id, file_name, width, height}' });
      continue;
    }
    const name = image.file_name.replace(/^\.\//, '');
    const file = files.has(name) ? name : files.has(`images/${name}`) ? `images/${name}` : undefined;
    if (file === undefined) {
      problems.push({ file: name, message: `missing: listed in ${where} but not in the dataset (looked beside it and under images/)` });
      continue;
    }
    const sample: DetectSampleSpec = { file, truth: [], normalised: false };
    if (isNumber(image.width) && isNumber(image.height)) sample.declaredSize = { width: image.width, height: image.height };
    byId.set(image.id, sample);
    samples.push(sample);
  }
  const unknown = new Map<string, number>();
  for (const [i, a] of doc.annotations.entries()) {
    if (!isObject(a) || !isNumber(a.image_id) || !isNumber(a.category_id) || !Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every(isNumber)) {
      problems.push({ file: `${where}: annotations[${i}]`, message: 'expected {image_id, category_id, bbox: [x, y, w, h]}' });
      continue;
    }
    if (a.iscrowd === 1) continue;
    const sample = byId.get(a.image_id);
    if (sample === undefined) continue; // its image was reported already, or is not listed
    const category = categories.get(a.category_id);
    if (category === undefined) {
      problems.push({ file: sample.file, message: `annotations[${i}]: category_id ${a.category_id} is not in "categories"` });
      continue;
    }
    if (typeof category === 'string') {
      unknown.set(category, (unknown.get(category) ?? 0) + 1);
      continue;
    }
    const [x, y, w, h] = a.bbox;
    const box: Box = [x, y, x + w, y + h];
    const size = sample.declaredSize;
    const outside =
      w <= 0 ||
      h <= 0 ||
      x < -PIXEL_SLACK ||
      y < -PIXEL_SLACK ||
      (size !== undefined && (box[2] > size.width + PIXEL_SLACK || box[3] > size.height + PIXEL_SLACK));
    if (outside) {
      problems.push({
        file: sample.file,
        message: `annotations[${i}]: box [${a.bbox.join(', ')}] is empty or outside the ${size ? `${size.width}×${size.height} ` : ''}image`,
      });
      continue;
    }
    sample.truth.push({ label: category, box });
  }
  for (const [name, count] of unknown) {
    problems.push({
      file: where,
      message: `category ${JSON.stringify(name)} is not one of the model's labels: its ${count} box${count === 1 ? '' : 'es'} left out`,
    });
  }
  return { samples, problems };
}

/** YOLO class names, when the dataset has them: `classes.txt` or `obj.names`, one per line. */
async function yoloClassNames(files: DatasetFiles): Promise<string[] | undefined> {
  for (const name of ['classes.txt', 'obj.names']) {
    if (files.has(name))
      return linesOf(utf8Text(await files.read(name)))
        .map((l) => l.text.trim())
        .filter((t) => t !== '');
  }
  return undefined;
}

/**
 * YOLO's text labels: per image a `<stem>.txt` of `class cx cy w h` lines, fractions of the
 * image size; an image without one has no objects. Class numbers name lines of `classes.txt`
 * (or `obj.names`) matched to the model's labels by name, or without one the model's labels.
 */
export async function readYolo(files: DatasetFiles, labels: readonly string[]): Promise<Read> {
  const problems: DatasetProblem[] = [];
  const names = await yoloClassNames(files);
  const index = new Map(labels.map((l, i) => [l, i]));
  const classOf = (n: number): number | string => {
    if (names === undefined) return n < labels.length ? n : `class ${n} is past the model's ${labels.length} labels`;
    const name = names[n];
    if (name === undefined) return `class ${n} is past the ${names.length} names of the classes file`;
    return index.get(name) ?? `class ${n} (${JSON.stringify(name)}) is not one of the model's labels`;
  };
  const samples: DetectSampleSpec[] = [];
  for (const file of files.paths) {
    if (!isImage(file) || isMask(file)) continue;
    const truth: TruthBox[] = [];
    const labelFile = yoloLabelFile(files, file);
    if (labelFile !== undefined) {
      for (const { line, text } of linesOf(utf8Text(await files.read(labelFile)))) {
        if (text.trim() === '') continue;
        const at = `${labelFile}:${line}`;
        const values = text.trim().split(/\s+/).map(Number);
        if (values.length !== 5 || !values.every(Number.isFinite) || !Number.isInteger(values[0]) || values[0] < 0) {
          problems.push({ file: at, message: 'expected "class cx cy w h" (a class number and four fractions)' });
          continue;
        }
        const [n, cx, cy, w, h] = values as [number, number, number, number, number];
        const label = classOf(n);
        if (typeof label === 'string') {
          problems.push({ file: at, message: label });
          continue;
        }
        const box: Box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
        if (w <= 0 || h <= 0 || box[0] < -FRACTION_SLACK || box[1] < -FRACTION_SLACK || box[2] > 1 + FRACTION_SLACK || box[3] > 1 + FRACTION_SLACK) {
          problems.push({ file: at, message: `box ${values.slice(1).join(' ')} is empty or outside the image` });
          continue;
        }
        truth.push({ label, box });
      }
    }
    samples.push({ file, truth, normalised: true });
  }
  return { samples, problems };
}
