import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../dist/src/evaluation/classify-datasets.js';
import { datasetNames, folderFiles, memoryFiles } from '../dist/src/evaluation/dataset-files.js';
import { readDataset } from '../dist/src/evaluation/dataset-reader.js';

/** A datasets directory holding one dataset folder made of `files` (path → contents). */
function datasetDir(name: string, files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sightline-datasets-'));
  for (const [file, body] of Object.entries(files)) {
    const full = path.join(root, name, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, body);
  }
  return root;
}

/** A dataset made of `files` (path → contents, strings as UTF-8) held in memory rather than in a folder. */
function inMemory(name: string, files: Record<string, string | Buffer>) {
  return memoryFiles(name, new Map(Object.entries(files).map(([file, body]) => [file, typeof body === 'string' ? Buffer.from(body) : body])));
}

const IMG = Buffer.from('not really an image: decoded only when evaluated');

/** Expected entries written as a table from file to one value, in order: `{ [file]: v }` → `[{ file, [key]: v }]`. */
const byFile = (key: string, rows: Record<string, unknown>) => Object.entries(rows).map(([file, value]) => ({ file, [key]: value }));

/** The problems a read reported, exactly and in order, written as a table from file to message. */
function expectProblems(dataset: { problems: unknown[] }, messages: Record<string, string>): void {
  expect(dataset.problems).toEqual(byFile('message', messages));
}

describe('dataset folders', () => {
  it('lists files under the datasets directory only, hidden ones left out', async () => {
    const root = datasetDir('set', { 'a/1.png': IMG, '.git/x': 'x', 'a/.DS_Store': 'x', '__MACOSX/a/1.png': IMG });
    const outside = datasetDir('elsewhere', { 'b/2.png': IMG });
    symlinkSync(path.join(outside, 'elsewhere'), path.join(root, 'escape'));
    symlinkSync(path.join(root, 'set'), path.join(root, 'alias'));
    const files = await folderFiles(root, 'set');
    expect(files.paths).toEqual(['a/1.png']);
    expect(await datasetNames(root)).toEqual(['alias', 'set']);
    expect((await folderFiles(root, 'alias')).paths).toEqual(['a/1.png']);
    await expect(folderFiles(root, 'escape')).rejects.toMatchObject({ status: 404 });
    await expect(folderFiles(root, 'missing')).rejects.toMatchObject({ status: 404, message: 'dataset missing not found' });
    for (const bad of ['..', '../set', 'set/a', '/etc', '.hidden', '']) {
      await expect(folderFiles(root, bad), bad).rejects.toMatchObject({ status: 400, details: { field: 'dataset' } });
    }
    expect(await datasetNames(path.join(root, 'nope'))).toEqual([]);
  });
});

describe('classify layouts', () => {
  const labels = ['cat', 'dog', 'fox'];

  it('imagefolder: the first folder is the label; strays and unknown labels are problems', async () => {
    const root = datasetDir('pets', {
      'cat/a.png': IMG,
      'cat/b.JPG': IMG,
      'cat/deeper/c.webp': IMG,
      'dog/d.png': IMG,
      'bird/e.png': IMG,
      'cat/notes.txt': 'x',
      'stray.png': IMG,
      'README.md': 'about',
    });
    const d = await readDataset(await folderFiles(root, 'pets'), { task: 'classify', labels });
    expect([d.layout, d.task, d.name]).toEqual(['imagefolder', 'classify', 'pets']);
    expect(d.samples).toEqual(byFile('label', { 'cat/a.png': 0, 'cat/b.JPG': 0, 'cat/deeper/c.webp': 0, 'dog/d.png': 1 }));
    expectProblems(d, {
      'bird/e.png': 'label "bird" is not one of the model\'s labels ("cat", "dog", "fox")',
      'cat/notes.txt': 'not an image (by its extension)',
      'stray.png': 'an image outside any label folder',
    });
  });

  it('csv: header optional, quoted fields, missing files, unknown labels and bad rows reported', async () => {
    const csv = 'file,label\r\nimgs/1.png,cat\n"imgs/2,b.png",dog\nimgs/3.png,wolf\ngone.png,cat\nimgs/1.png\n\n./imgs/4.png, fox \n';
    const root = datasetDir('rows', { 'labels.csv': csv, 'imgs/1.png': IMG, 'imgs/2,b.png': IMG, 'imgs/3.png': IMG, 'imgs/4.png': IMG });
    const d = await readDataset(await folderFiles(root, 'rows'), { task: 'classify', labels });
    expect(d.layout).toBe('csv');
    expect(d.samples).toEqual(byFile('label', { 'imgs/1.png': 0, 'imgs/2,b.png': 1, 'imgs/4.png': 2 }));
    expectProblems(d, {
      'imgs/3.png': 'label "wolf" is not one of the model\'s labels ("cat", "dog", "fox")',
      'gone.png': 'missing: named on labels.csv:5 but not in the dataset',
      'labels.csv:6': 'expected 2 fields (file,label), got 1',
    });
    expect(parseCsv('a,"b ""q"" \nc",d\ne,f')).toEqual([
      { line: 1, fields: ['a', 'b "q" \nc', 'd'] },
      { line: 3, fields: ['e', 'f'] },
    ]);
  });

  it('the layout must fit the model, and some layout must fit', async () => {
    const root = datasetDir('text', { 'labels.txt': 'a.png\thello\n', 'a.png': IMG });
    await expect(readDataset(await folderFiles(root, 'text'), { task: 'classify', labels })).rejects.toMatchObject({
      status: 400,
      message: "dataset text is laid out as labels-txt (text-recognize or ocr), but the model's task is classify",
    });
    const flat = inMemory('flat', { 'a.png': IMG });
    await expect(readDataset(flat, { task: 'classify', labels })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('no known layout fits its 1 files'),
    });
    await expect(readDataset(flat, { task: 'classify', labels, layout: 'csv' })).rejects.toMatchObject({
      status: 400,
      message: 'layout csv: the dataset has no CSV file at its top level',
    });
  });
});

describe('text-recognize layout', () => {
  it('labels.txt: file<TAB>text, text kept as written; bad and dangling lines reported', async () => {
    const files = inMemory('lines', {
      'labels.txt': '\ufeffl/1.png\tHello World\nl/2.png\t  two\tspaces  \r\nno tab here\nl/9.png\tgone\n\nl/3.png\t\n',
      'l/1.png': IMG,
      'l/2.png': IMG,
      'l/3.png': IMG,
    });
    const d = await readDataset(files, { task: 'text-recognize', labels: [] });
    expect(d.layout).toBe('labels-txt');
    expect(d.samples).toEqual(byFile('text', { 'l/1.png': 'Hello World', 'l/2.png': '  two\tspaces  ', 'l/3.png': '' }));
    expectProblems(d, { 'labels.txt:3': 'expected file<TAB>text', 'l/9.png': 'missing: named on labels.txt:4 but not in the dataset' });
  });
});

describe('detect layouts', () => {
  const labels = ['car', 'person'];

  it('coco: boxes to corners, images beside or under images/, problems per file', async () => {
    const doc = {
      images: [
        { id: 1, file_name: 'a.jpg', width: 100, height: 50 },
        { id: 2, file_name: 'b.jpg', width: 100, height: 50 },
        { id: 3, file_name: 'gone.jpg', width: 10, height: 10 },
        { id: 4, file_name: 'c.jpg' },
      ],
      annotations: [
        { image_id: 1, category_id: 7, bbox: [10, 5, 20, 10] },
        { image_id: 1, category_id: 9, bbox: [0, 0, 100, 50] },
        { image_id: 1, category_id: 7, bbox: [90, 40, 20, 20] }, // outside
        { image_id: 2, category_id: 3, bbox: [1, 1, 2, 2] }, // a category the model lacks
        { image_id: 2, category_id: 3, bbox: [2, 2, 2, 2] },
        { image_id: 2, category_id: 7, bbox: [1, 1, 5, 5], iscrowd: 1 },
        { image_id: 2, category_id: 42, bbox: [1, 1, 5, 5] },
        { image_id: 4, category_id: 9, bbox: [1, 1, 0, 5] }, // empty
        { image_id: 1, bbox: [1, 1, 5, 5] },
      ],
      categories: [
        { id: 7, name: 'car' },
        { id: 9, name: 'person' },
        { id: 3, name: 'bike' },
      ],
    };
    const files = inMemory('coco', {
      'annotations.json': JSON.stringify(doc),
      'a.jpg': IMG,
      'images/b.jpg': IMG,
      'c.jpg': IMG,
    });
    const d = await readDataset(files, { task: 'detect', labels });
    expect(d.layout).toBe('coco');
    expect(d.samples).toEqual([
      {
        file: 'a.jpg',
        truth: [
          { label: 0, box: [10, 5, 30, 15] },
          { label: 1, box: [0, 0, 100, 50] },
        ],
        normalised: false,
        declaredSize: { width: 100, height: 50 },
      },
      { file: 'images/b.jpg', truth: [], normalised: false, declaredSize: { width: 100, height: 50 } },
      { file: 'c.jpg', truth: [], normalised: false },
    ]);
    expectProblems(d, {
      'gone.jpg': 'missing: listed in annotations.json but not in the dataset (looked beside it and under images/)',
      'a.jpg': 'annotations[2]: box [90, 40, 20, 20] is empty or outside the 100×50 image',
      'images/b.jpg': 'annotations[6]: category_id 42 is not in "categories"',
      'c.jpg': 'annotations[7]: box [1, 1, 0, 5] is empty or outside the image',
      'annotations.json: annotations[8]': 'expected {image_id, category_id, bbox: [x, y, w, h]}',
      'annotations.json': 'category "bike" is not one of the model\'s labels: its 2 boxes left out',
    });
    const broken = inMemory('broken', { 'annotations.json': '{"images": [' });
    const b = await readDataset(broken, { task: 'detect', labels });
    expect([b.samples, b.problems.length, b.problems[0].file]).toEqual([[], 1, 'annotations.json']);
  });

  it('yolo: normalised boxes beside images or under labels/, class names from classes.txt', async () => {
    const files = inMemory('yolo', {
      'classes.txt': 'person\ncar\ndog\n',
      'images/a.jpg': IMG,
      'labels/a.txt': '1 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.2 0.2\n2 0.5 0.5 0.1 0.1\n5 0.5 0.5 0.1 0.1\n1 0.95 0.5 0.2 0.2\n1 0.5 0.5\n',
      'images/b.jpg': IMG,
      'c.png': IMG,
      'c.txt': '0 0.5 0.5 1 1\n',
    });
    const d = await readDataset(files, { task: 'detect', labels });
    expect(d.layout).toBe('yolo');
    expect(d.samples).toEqual([
      { file: 'c.png', truth: [{ label: 1, box: [0, 0, 1, 1] }], normalised: true },
      {
        file: 'images/a.jpg',
        truth: [
          { label: 0, box: [0.4, 0.3, 0.6, 0.7] },
          { label: 1, box: [0, 0, 0.2, 0.2] },
        ],
        normalised: true,
      },
      { file: 'images/b.jpg', truth: [], normalised: true },
    ]);
    expectProblems(d, {
      'labels/a.txt:3': 'class 2 ("dog") is not one of the model\'s labels',
      'labels/a.txt:4': 'class 5 is past the 3 names of the classes file',
      'labels/a.txt:5': 'box 0.95 0.5 0.2 0.2 is empty or outside the image',
      'labels/a.txt:6': 'expected "class cx cy w h" (a class number and four fractions)',
    });
  });
});

describe('segment layout', () => {
  it('masks beside images or under masks/; an image without one is a problem', async () => {
    const files = inMemory('seg', { 'a.jpg': IMG, 'a.mask.png': IMG, 'images/b.png': IMG, 'masks/b.png': IMG, 'images/c.png': IMG });
    const d = await readDataset(files, { task: 'segment', labels: ['bg', 'fg'] });
    expect(d.layout).toBe('masks');
    expect(d.samples).toEqual(byFile('mask', { 'a.jpg': 'a.mask.png', 'images/b.png': 'masks/b.png' }));
    expectProblems(d, { 'images/c.png': 'no mask for this image (expected <name>.mask.png beside it, or masks/<name>.png)' });
  });
});
