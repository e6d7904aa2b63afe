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

/** Whether the context file at `rel` is a tar archive (plain, gzip or zstd), by its first bytes. */
export function isArchive(context: LayerStack, rel: string): boolean {
  const found = context.lookup('/' + rel, false);
  if (!found?.stat.isFile()) return false;
  const fd = context.open(found.layer, found.rel, O_RDONLY | O_NOFOLLOW);
  try {
    const head = Buffer.alloc(262);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (detectCompression(head.subarray(0, n)) !== 'none') return true;
    return n >= 262 && head.toString('latin1', 257, 262) === 'ustar';
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
