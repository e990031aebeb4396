/**
 * Tar archives (POSIX ustar, with GNU long names and pax `path` records) read into memory,
 * and written: the `sightline evaluate` client packs a dataset folder into one to upload it.
 * Only regular files are kept; directories, links and devices are skipped.
 */

const BLOCK = 512;

export class ArchiveError extends Error {}

/** An archive that unpacks to more than it may. */
export class ArchiveTooLarge extends ArchiveError {}

function octal(block: Buffer, at: number, length: number): number {
  // GNU base-256 for sizes of 8 GiB and more: far past any body limit, so refused.
  if (block[at] & 0x80) throw new ArchiveError('tar: a size in base-256 (an entry of 8 GiB or more)');
  const text = block
    .toString('latin1', at, at + length)
    .replace(/\0.*$/s, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new ArchiveError(`tar: a header field is not octal (${JSON.stringify(text)})`);
  return parseInt(text, 8);
}

const cString = (block: Buffer, at: number, length: number) => {
  const end = block.indexOf(0, at);
  return block.toString('utf8', at, end === -1 || end > at + length ? at + length : end);
};

/** pax extended header records: `<length> <key>=<value>\n`. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) throw new ArchiveError('tar: a malformed pax record');
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq !== -1) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  const stored = block.toString('latin1', 148, 156).replace(/\0.*$/s, '').trim();
  return /^[0-7]+$/.test(stored) && sum === parseInt(stored, 8);
}

/** The regular files of a tar archive by their path inside it, in archive order. */
export function readTar(archive: Buffer): Array<{ path: string; bytes: Buffer }> {
  const files: Array<{ path: string; bytes: Buffer }> = [];
  let at = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (at + BLOCK <= archive.length) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break; // the end-of-archive blocks
    if (!checksumOk(header)) throw new ArchiveError(`tar: bad header checksum at byte ${at} (not a tar archive, or a damaged one)`);
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const dataAt = at + BLOCK;
    if (dataAt + size > archive.length) throw new ArchiveError('tar: the archive ends inside an entry (truncated)');
    const data = archive.subarray(dataAt, dataAt + size);
    at = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      paxPath = paxRecords(data).get('path');
      continue;
    }
    if (type === 'g') continue;
    const magic = header.toString('latin1', 257, 263);
    const prefix = magic.startsWith('ustar') ? cString(header, 345, 155) : '';
    const name = paxPath ?? longName ?? (prefix === '' ? cString(header, 0, 100) : `${prefix}/${cString(header, 0, 100)}`);
    longName = undefined;
    paxPath = undefined;
    if (type === '0' || type === '7') files.push({ path: name, bytes: data });
  }
  return files;
}

function writeOctal(header: Buffer, at: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, at, length, 'latin1');
}

function tarHeader(name: string, size: number, type: '0' | 'L', mtime: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, mtime);
  header.write(type, 156, 1, 'latin1');
  header.write('ustar\0', 257, 6, 'latin1');
  header.write('00', 263, 2, 'latin1');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += header[i];
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return header;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** A tar archive of the files given (paths `/`-separated); names past 100 bytes get a GNU long-name entry. */
export function writeTar(files: Iterable<{ path: string; bytes: Buffer }>, mtime = 0): Buffer {
  const parts: Buffer[] = [];
  for (const { path, bytes } of files) {
    const name = Buffer.from(path, 'utf8');
    if (name.length > 100) {
      const long = Buffer.concat([name, Buffer.from([0])]);
      parts.push(tarHeader('././@LongLink', long.length, 'L', mtime), long, padding(long.length));
    }
    parts.push(tarHeader(name.length > 100 ? name.subarray(0, 100).toString('utf8') : path, bytes.length, '0', mtime), bytes, padding(bytes.length));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
