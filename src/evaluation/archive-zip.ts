import { crc32, inflateRawSync } from 'node:zlib';
import { ArchiveError, ArchiveTooLarge } from './archive-tar.js';

/**
 * Zip archives read into memory: the central directory lists the entries, each stored or
 * deflated, checked against its CRC-32. Zip64 (entries or archives of 4 GiB and more, far past
 * any body limit) and encrypted entries are refused.
 */

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The regular files of a zip archive by their path inside it; `maxBytes` caps what they unpack to in all. */
export function readZip(archive: Buffer, maxBytes: number): Array<{ path: string; bytes: Buffer }> {
  // The end record is in the last 22 + 65535 bytes (its comment is at most 64 KiB).
  let eocd = -1;
  for (let i = archive.length - 22; i >= Math.max(0, archive.length - 22 - 0xffff); i--) {
    if (archive.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd === -1) throw new ArchiveError('zip: no end-of-central-directory record (not a zip archive, or a truncated one)');
  const count = archive.readUInt16LE(eocd + 10);
  const directorySize = archive.readUInt32LE(eocd + 12);
  let at = archive.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff || directorySize === 0xffffffff) throw new ArchiveError('zip: Zip64 archives are not supported');
  const files: Array<{ path: string; bytes: Buffer }> = [];
  let total = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > archive.length || archive.readUInt32LE(at) !== CENTRAL) throw new ArchiveError('zip: a damaged central directory');
    const flags = archive.readUInt16LE(at + 8);
    const method = archive.readUInt16LE(at + 10);
    const crc = archive.readUInt32LE(at + 16);
    const compressed = archive.readUInt32LE(at + 20);
    const size = archive.readUInt32LE(at + 24);
    const nameLength = archive.readUInt16LE(at + 28);
    const extraLength = archive.readUInt16LE(at + 30);
    const commentLength = archive.readUInt16LE(at + 32);
    const localAt = archive.readUInt32LE(at + 42);
    // Bit 11: the name is UTF-8; otherwise CP437, whose ASCII part is all a path needs.
    const name = archive.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if (flags & 0x1) throw new ArchiveError(`zip: ${name} is encrypted`);
    if (size === 0xffffffff || compressed === 0xffffffff || localAt === 0xffffffff) throw new ArchiveError('zip: Zip64 entries are not supported');
    if (localAt + 30 > archive.length || archive.readUInt32LE(localAt) !== LOCAL) throw new ArchiveError(`zip: ${name}: a damaged local header`);
    const dataAt = localAt + 30 + archive.readUInt16LE(localAt + 26) + archive.readUInt16LE(localAt + 28);
    if (dataAt + compressed > archive.length) throw new ArchiveError(`zip: ${name}: the archive ends inside it (truncated)`);
    total += size;
    if (total > maxBytes) throw new ArchiveTooLarge(`zip: the entries unpack to more than ${maxBytes} bytes`);
    const raw = archive.subarray(dataAt, dataAt + compressed);
    let bytes: Buffer;
    if (method === 0) bytes = Buffer.from(raw);
    else if (method === 8) {
      try {
        bytes = size === 0 ? Buffer.alloc(0) : inflateRawSync(raw, { maxOutputLength: size });
      } catch (err) {
        throw new ArchiveError(`zip: ${name}: cannot inflate (${(err as Error).message})`);
      }
    } else throw new ArchiveError(`zip: ${name}: compression method ${method} is not supported (stored and deflate are)`);
    if (bytes.length !== size || crc32(bytes) !== crc) throw new ArchiveError(`zip: ${name}: its CRC-32 or size does not match (damaged)`);
    files.push({ path: name, bytes });
  }
  return files;
}
