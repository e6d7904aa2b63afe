// Storing one layer from a stream of its (possibly compressed) archive: compressed digest check,
// decompression, unpacking and diff_id check in one pass, into a private work directory that
// becomes the layer only when every check passed. Callers hold the layer's lock, so a layer is
// written once however many pulls want it at the same time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError } from '../errors';
import { layout } from '../paths';
import { mkdirp } from '../util/fs';
import { ownedName } from '../util/owner';
import { DigestMismatchError, VerifyingStream } from './blobs';
import { decompressor, detectCompression, peek } from './compression';
import { ImageStore } from './store';
import { TAR_SPLIT_FILE } from './tar-split';
import { LayerUnpack, LayerUnpacker, UnpackOptions, UnpackResult } from './unpack';

export interface StoreLayerOptions {
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

const WORK_PREFIX = '.tmp-unpack-';
/**
 * Files are read in pieces of 1 MiB rather than fs streams' default 64 KiB: every piece costs a
 * trip through each stream below and, for gzip, a round trip to libuv's threads. (A socket's
 * pieces are 64 KiB at most; gathering them into larger ones was measured to cost as much, in
 * copies and fresh memory, as it saved.)
 */
export const PIECE_BYTES = 1 << 20;

/**
 * A work directory for a layer: layers/.tmp-unpack-<key>-<pid>.<start>-<random>/diff (the
 * writer's token, for the store's sweeper). With the layer's lock held, leftovers of the same key
 * come from a process that died while unpacking: removed.
 */
function workDir(store: ImageStore, key: string): string {
  const base = layout.layers(store.roots);
  mkdirp(base);
  const mine = `${WORK_PREFIX}${key}`;
  for (const d of fs.readdirSync(base))
    if (d.startsWith(mine + '-')) fs.rmSync(path.join(base, d), { recursive: true, force: true });
  const dir = path.join(base, ownedName(mine, randomBytes(6).toString('hex')));
  fs.mkdirSync(dir, { mode: 0o700 }); // layers/<hex>: root-only, as the whole store
  fs.mkdirSync(path.join(dir, 'diff'), { mode: 0o755 }); // the image's `/`: its own mode comes with the layer
  return path.join(dir, 'diff');
}

/**
 * Runs `unpack` into a fresh work directory (its tar-split record beside it), checks the diff_id
 * it gives against the announced one and commits the layer; the work directory goes on failure.
 */
async function storeInto(
  store: ImageStore,
  key: string,
  opts: { diffId?: string; what: string },
  unpack: (work: string, tarSplit: string) => Promise<UnpackResult>,
): Promise<UnpackResult> {
  const work = workDir(store, key.replace(/^sha256:/, ''));
  try {
    const result = await unpack(work, path.join(path.dirname(work), TAR_SPLIT_FILE));
    if (opts.diffId && result.diffId !== opts.diffId)
      throw new DigestMismatchError(opts.diffId, result.diffId, `${opts.what} (uncompressed)`);
    await store.commitLayer(work, result.diffId, result.size);
    return result;
  } catch (err) {
    fs.rmSync(path.dirname(work), { recursive: true, force: true });
    throw err;
  }
}

/** Pieces fed to the unpacker between two turns of the event loop (other stages' work, progress). */
const PIECES_PER_TURN = 4096;

/**
 * Stores a layer from the pieces of its uncompressed tar, made by the caller (a build step) and
 * fed to the unpacker as they come, with no stream in between: the pieces may be views of a
 * buffer the caller reuses. Errors of the pieces' maker pass through as they are.
 */
export async function storeLayerPieces(
  store: ImageStore,
  pieces: Iterable<Buffer>,
  opts: { diffId?: string; what: string; contentFile?: UnpackOptions['contentFile'] },
): Promise<UnpackResult> {
  const key = opts.diffId ?? `build-${randomBytes(8).toString('hex')}`;
  return storeInto(store, key, opts, async (work, tarSplit) => {
    const unpack = new LayerUnpack(work, { tarSplit, contentFile: opts.contentFile });
    try {
      let n = 0;
      for (const piece of pieces) {
        if (piece.length) unpack.write(piece);
        if (++n % PIECES_PER_TURN === 0) await new Promise(setImmediate);
      }
      return unpack.end();
    } finally {
      unpack.abort();
    }
  });
}

export async function storeLayer(store: ImageStore, source: Readable, opts: StoreLayerOptions): Promise<UnpackResult> {
  const key = opts.diffId ?? opts.compressedDigest ?? `import-${randomBytes(8).toString('hex')}`;
  return storeInto(store, key, opts, async (work, tarSplit) => {
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
    const unpacker = new LayerUnpacker(work, { tarSplit });
    try {
      await pipeline(
        [...streams, unpacker] as unknown as NodeJS.ReadWriteStream[],
        opts.signal ? { signal: opts.signal } : {},
      );
    } catch (err) {
      if (err instanceof BoxError) throw err;
      const e = err as Error & { code?: string };
      if (e.name === 'AbortError') throw new BoxError(`${opts.what}: interrupted`);
      if (e.code === 'ECONNRESET' || e.message === 'aborted') {
        const of = opts.compressedSize !== undefined ? ` of ${opts.compressedSize}` : '';
        throw new BoxError(`${opts.what}: the connection was lost after ${received}${of} bytes`);
      }
      if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR' || /unexpected end of file/i.test(e.message)) {
        throw new BoxError(`${opts.what}: the compressed data is truncated or corrupt (${e.message})`);
      }
      throw new BoxError(`${opts.what}: ${e.message}`);
    }
    return unpacker.result!;
  });
}
