import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readTar, writeTar } from '../dist/src/evaluation/archive-tar.js';
import { readZip } from '../dist/src/evaluation/archive-zip.js';
import { decodeClassMask } from '../dist/src/evaluation/mask-decode.js';
import { archiveFiles, uploadFiles } from '../dist/src/evaluation/upload-files.js';
import { greyPng, palettePng, writeZip } from './helpers/archives.js';

const bytes = (s: string) => Buffer.from(s);

describe('tar', () => {
  it('reads back what it writes, long names included, and skips what is not a file', () => {
    const long = `${'deep/'.repeat(30)}file.txt`;
    const files = [
      { path: 'a.txt', bytes: bytes('alpha') },
      { path: long, bytes: bytes('x'.repeat(1000)) },
      { path: 'empty', bytes: Buffer.alloc(0) },
    ];
    const tar = writeTar(files);
    expect(tar.length % 512).toBe(0);
    expect(readTar(tar)).toEqual(files);
  });

  it('takes a pax path record, and refuses damaged archives', () => {
    // A pax header ("x") naming the next entry, as GNU tar --format=pax writes for long UTF-8 names.
    const record = (key: string, value: string) => {
      const body = ` ${key}=${value}\n`;
      // The length counts bytes, its own digits included.
      let n = Buffer.byteLength(body) + 1;
      while (Buffer.byteLength(`${n}${body}`) !== n) n++;
      return `${n}${body}`;
    };
    const pax = writeTar([
      { path: 'PaxHeader', bytes: bytes(record('path', 'ünïcode/名前.png')) },
      { path: 'short', bytes: bytes('data') },
    ]);
    pax[156] = 'x'.charCodeAt(0); // turn the first entry into a pax header; fix its checksum
    let sum = 0;
    pax.fill(0x20, 148, 156);
    for (let i = 0; i < 512; i++) sum += pax[i];
    pax.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    expect(readTar(pax)).toEqual([{ path: 'ünïcode/名前.png', bytes: bytes('data') }]);

    const truncated = writeTar([{ path: 'a', bytes: Buffer.alloc(2000, 1) }]).subarray(0, 1024);
    expect(() => readTar(truncated)).toThrow('tar: the archive ends inside an entry (truncated)');
    expect(() => readTar(Buffer.alloc(512, 0x41))).toThrow('tar: bad header checksum at byte 0');
    expect(readTar(Buffer.alloc(1024))).toEqual([]);
  });

  it('a gzip-compressed tar unpacks within its cap', () => {
    const tar = writeTar([{ path: 'set/red/1.png', bytes: Buffer.alloc(50_000) }]);
    expect(archiveFiles('tar', gzipSync(tar), undefined, 1_000_000).paths).toEqual(['red/1.png']);
    expect(() => archiveFiles('tar', gzipSync(tar), undefined, 10_000)).toThrow(expect.objectContaining({ status: 413 }));
    expect(() => archiveFiles('tar', Buffer.from([0x1f, 0x8b, 1, 2, 3]), undefined, 10_000)).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('zip', () => {
  it('reads stored and deflated entries; checks CRC and the unpacked size', () => {
    const zip = writeZip([
      { path: 'a/1.txt', bytes: bytes('one'), stored: true },
      { path: 'a/2.txt', bytes: bytes('two'.repeat(100)) },
    ]);
    expect(readZip(zip, 1000)).toEqual([
      { path: 'a/1.txt', bytes: bytes('one') },
      { path: 'a/2.txt', bytes: bytes('two'.repeat(100)) },
    ]);
    expect(() => readZip(zip, 100)).toThrow('zip: the entries unpack to more than 100 bytes');
    const damaged = Buffer.from(zip);
    damaged[30 + 'a/1.txt'.length] ^= 0xff; // the first byte of the stored data
    expect(() => readZip(damaged, 1000)).toThrow('zip: a/1.txt: its CRC-32 or size does not match (damaged)');
    const encrypted = Buffer.from(zip);
    const central = encrypted.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    encrypted.writeUInt16LE(0x801, central + 8);
    expect(() => readZip(encrypted, 1000)).toThrow('zip: a/1.txt is encrypted');
    expect(() => readZip(Buffer.from('PK'), 1000)).toThrow('zip: no end-of-central-directory record');
  });
});

describe('uploads', () => {
  it('a single top folder is the dataset when a layout fits inside it, else a label folder', () => {
    const png = Buffer.from('png');
    const set = uploadFiles(
      [
        { path: 'flowers/rose/1.png', bytes: png },
        { path: 'flowers/tulip/2.png', bytes: png },
      ],
      undefined,
    );
    expect([set.name, set.paths]).toEqual(['flowers', ['rose/1.png', 'tulip/2.png']]);
    const oneLabel = uploadFiles(
      [
        { path: 'rose/1.png', bytes: png },
        { path: './rose//2.png', bytes: png },
      ],
      'named',
    );
    expect([oneLabel.name, oneLabel.paths]).toEqual(['named', ['rose/1.png', 'rose/2.png']]);
    for (const bad of ['../up.png', '/etc/passwd', 'a/../../b.png', 'C:\\\\x.png']) {
      expect(() => uploadFiles([{ path: bad, bytes: png }], undefined), bad).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

describe('class masks', () => {
  it('greyscale values and palette indices are class indices; colour masks are refused', async () => {
    const values = Uint8Array.from([0, 1, 2, 255, 1, 0]);
    expect(await decodeClassMask(await greyPng(values, 3, 2))).toEqual({ width: 3, height: 2, data: values });
    // VOC-like palette: the index is the class, whatever its colour; a repeated colour maps to its first index.
    const palette: Array<[number, number, number]> = [
      [0, 0, 0],
      [128, 0, 0],
      [0, 128, 0],
      [128, 0, 0],
    ];
    const indices = Uint8Array.from([0, 1, 2, 2, 1, 0]);
    expect((await decodeClassMask(palettePng(indices, 3, 2, palette))).data).toEqual(indices);
    const colour = await sharp(Buffer.from([255, 0, 0, 0, 255, 0]), { raw: { width: 2, height: 1, channels: 3 } })
      .png()
      .toBuffer();
    await expect(decodeClassMask(colour)).rejects.toThrow('a colour mask: expected greyscale (pixel value = class index) or a palette PNG');
  });
});
