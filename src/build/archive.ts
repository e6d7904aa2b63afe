// ADD of a local archive: a tar (plain, gzip or zstd) from the context is unpacked, by the store's
// own layer unpacker (which refuses entries escaping it), into a temporary directory whose content
// ADD then copies to its destination, owners as the archive has them.
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError } from '../errors';
import { decompressor, detectCompression, peek } from '../image/compression';
import { LayerUnpacker } from '../image/unpack';
import { O_NOFOLLOW, O_RDONLY } from '../linux/syscalls';
import { LayerStack } from '../runtime/diff';

/** How many first bytes of a file tell whether it is an archive: one tar header. */
export const ARCHIVE_HEAD = 512;

/**
 * What an archive's first bytes say it is, as Docker tells (a compression's magic number, else a
 * tar header whose checksum holds); undefined for anything else. bzip2 and xz are named so that
 * the caller can say box cannot read them.
 */
export function archiveKind(head: Buffer): 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'tar' | undefined {
  const compression = detectCompression(head);
  if (compression !== 'none') return compression;
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return head.length >= 512 && tarChecksumHolds(head) ? 'tar' : undefined;
}

/** A tar header's checksum: the sum of its bytes, the checksum field counted as spaces. */
function tarChecksumHolds(header: Buffer): boolean {
  const field = header
    .toString('latin1', 148, 156)
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]+$/.test(field)) return false; // also an all-zero block, the end of an archive
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum === parseInt(field, 8);
}

/** Whether the context file at `rel` is a tar archive (plain, gzip or zstd), by its first bytes. */
export function isArchive(context: LayerStack, rel: string): boolean {
  const found = context.lookup('/' + rel, false);
  if (!found?.stat.isFile()) return false;
  const fd = context.open(found.layer, found.rel, O_RDONLY | O_NOFOLLOW);
  try {
    const head = Buffer.alloc(ARCHIVE_HEAD);
    const kind = archiveKind(head.subarray(0, fs.readSync(fd, head, 0, head.length, 0)));
    return kind === 'gzip' || kind === 'zstd' || kind === 'tar';
  } finally {
    fs.closeSync(fd);
  }
}

/** Unpacks the context's archive at `rel` into `dir` (an empty directory). */
export async function unpackArchive(context: LayerStack, rel: string, dir: string): Promise<void> {
  const found = context.lookup('/' + rel, false)!;
  const fd = context.open(found.layer, found.rel, O_RDONLY | O_NOFOLLOW);
  const source: Readable = fs.createReadStream('', { fd, highWaterMark: 1 << 20 });
  try {
    const head = await peek(source, 4);
    const d = decompressor(detectCompression(head), `ADD ${rel}`);
    const streams = [source, ...(d ? [d] : []), new LayerUnpacker(dir, { preserveOwner: true })];
    await pipeline(streams as unknown as NodeJS.ReadWriteStream[]);
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`ADD ${rel}: cannot unpack the archive: ${(err as Error).message}`);
  }
}
