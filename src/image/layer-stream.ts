// One layer's stream into a work directory: compressed digest and size, decompression, the tar
// into files and its tar-split record, and the diff_id, in one pass. storeLayer (layer-fetch.ts)
// runs it on the calling thread, or hands the bytes to a layer worker (layer-worker.ts) that runs it.
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError } from '../errors';
import { DigestMismatchError, VerifyingStream } from './blobs';
import { decompressor, detectCompression, peek } from './compression';
import { TAR_SPLIT_FILE } from './tar-split';
import { LayerUnpacker, UnpackResult } from './unpack';

export interface LayerStreamOptions {
  /** digest (and size) of the bytes as they arrive, checked before the layer is kept */
  compressedDigest?: string;
  compressedSize?: number;
  /** the diff_id the image config announces; a different one is an error */
  diffId?: string;
  /** for messages: "layer sha256:abcd…" */
  what: string;
  /** bytes as they arrive (for progress) */
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

/**
 * The checks and the unpacking of one layer's stream into the work directory `work` (its diff/):
 * compressed digest and size, decompression, the tar into files and the tar-split record, and the
 * diff_id. Runs on the calling thread; a layer worker (layer-worker.ts) runs it on its own.
 */
export async function unpackLayerStream(
  source: Readable,
  work: string,
  opts: LayerStreamOptions,
): Promise<UnpackResult> {
  const head = await peek(source, 4);
  const streams: (Readable | Transform)[] = [source];
  let received = 0;
  const onBytes = opts.onBytes;
  streams.push(
    new Transform({
      transform: (c: Buffer, _e, done) => {
        received += c.length;
        onBytes?.(c.length);
        done(null, c);
      },
    }),
  );
  if (opts.compressedDigest) streams.push(new VerifyingStream(opts.compressedDigest, opts.compressedSize, opts.what));
  const d = decompressor(detectCompression(head), opts.what);
  if (d) streams.push(d);
  const unpacker = new LayerUnpacker(work, { tarSplit: path.join(path.dirname(work), TAR_SPLIT_FILE) });
  try {
    await pipeline(
      [...streams, unpacker] as unknown as NodeJS.ReadWriteStream[],
      opts.signal ? { signal: opts.signal } : {},
    );
  } catch (err) {
    throw layerError(err, opts.what, received, opts.compressedSize);
  }
  const result = unpacker.result!;
  if (opts.diffId && result.diffId !== opts.diffId)
    throw new DigestMismatchError(opts.diffId, result.diffId, `${opts.what} (uncompressed)`);
  return result;
}

/** A stream's failure as the one-line error a user reads. */
export function layerError(err: unknown, what: string, received: number, size?: number): BoxError {
  if (err instanceof BoxError) return err;
  const e = err as Error & { code?: string };
  if (e.name === 'AbortError') return new BoxError(`${what}: interrupted`);
  if (e.code === 'ECONNRESET' || e.message === 'aborted') {
    const of = size !== undefined ? ` of ${size}` : '';
    return new BoxError(`${what}: the connection was lost after ${received}${of} bytes`);
  }
  if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR' || /unexpected end of file/i.test(e.message)) {
    return new BoxError(`${what}: the compressed data is truncated or corrupt (${e.message})`);
  }
  return new BoxError(`${what}: ${e.message}`);
}
