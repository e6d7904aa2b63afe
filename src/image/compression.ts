// Layer compression: detected from the first bytes (gzip, zstd or a plain tar), so a registry that
// labels a layer wrongly, or a tarball given to `box import`, still unpacks.
import { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { BoxError } from '../errors';

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** The decompressing stream for `c` (null: the bytes are the tar itself). */
export function decompressor(c: Compression, what: string): Transform | null {
  // Output in pieces of 1 MiB: each piece is one round trip to libuv's threads and one pass
  // through the unpacker, so larger pieces cost less per byte.
  if (c === 'gzip') return zlib.createGunzip({ chunkSize: 1 << 20 });
  if (c === 'zstd') {
    const create = zstdDecompressor();
    if (create) return create();
    throw new BoxError(zstdUnsupported(what));
  }
  return null;
}

/** Node's zstd decompressor (Node.js 22.15 and later), if this runtime has one. */
function zstdDecompressor(): (() => Transform) | undefined {
  const z = zlib as unknown as { createZstdDecompress?: () => Transform };
  return typeof z.createZstdDecompress === 'function' ? () => z.createZstdDecompress!() : undefined;
}

export const zstdSupported = (): boolean => zstdDecompressor() !== undefined;

export function zstdUnsupported(what: string): string {
  return (
    `${what} is zstd-compressed, which this box cannot decompress (it is built on Node.js ${process.version}; ` +
    'zstd needs 22.15 or later): use the image with gzip layers (skopeo copy --dest-compress-format gzip)'
  );
}

/**
 * Resolves with the first `n` bytes of source (fewer at its end) and puts them back, so whatever
 * reads source next still sees every byte.
 */
export async function peek(source: Readable, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const chunk = source.read() as Buffer | null;
    if (chunk !== null) {
      parts.push(chunk);
      len += chunk.length;
      continue;
    }
    if (source.readableEnded || source.destroyed) break;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        cleanup();
        resolve();
      };
      const fail = (e: Error) => {
        cleanup();
        reject(e);
      };
      const cleanup = () => {
        source.off('readable', done);
        source.off('end', done);
        source.off('close', done);
        source.off('error', fail);
      };
      source.on('readable', done);
      source.on('end', done);
      source.on('close', done);
      source.on('error', fail);
    });
  }
  const head = Buffer.concat(parts, len);
  if (head.length) source.unshift(head);
  return head;
}
