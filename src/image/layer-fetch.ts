// Storing one layer from a stream of its (possibly compressed) archive: compressed digest check,
// decompression, unpacking and diff_id check in one pass (layer-stream.ts, on this thread or on a
// layer worker's), into a private work directory that becomes the layer only when every check
// passed. Callers hold the layer's lock, so a layer is written once however many pulls want it at
// the same time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { layout } from '../paths';
import { mkdirp } from '../util/fs';
import { ownedName } from '../util/owner';
import { LayerStreamOptions, unpackLayerStream } from './layer-stream';
import type { LayerWorkers } from './layer-workers';
import { DigestMismatchError } from './blobs';
import { ImageStore } from './store';
import { TAR_SPLIT_FILE } from './tar-split';
import { LayerSink, UnpackOptions, UnpackResult } from './unpack';

export interface StoreLayerOptions extends LayerStreamOptions {
  /** unpack on one of these worker threads instead of this one (the commit stays on this one) */
  workers?: LayerWorkers;
  /** called once the layer is unpacked and checked, before its commit (a syncfs and a rename) */
  onUnpacked?: () => void;
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
 * Runs `unpack` into a fresh work directory and commits the layer it gives; the work directory
 * goes on failure. `unpack` checks the diff_id and leaves nothing open when it returns or throws.
 */
async function storeInto(
  store: ImageStore,
  key: string,
  unpack: (work: string) => Promise<UnpackResult>,
  onUnpacked?: () => void,
): Promise<UnpackResult> {
  const work = workDir(store, key.replace(/^sha256:/, ''));
  try {
    const result = await unpack(work);
    onUnpacked?.();
    await store.commitLayer(work, result.diffId, result.size);
    return result;
  } catch (err) {
    fs.rmSync(path.dirname(work), { recursive: true, force: true });
    throw err;
  }
}

export async function storeLayer(store: ImageStore, source: Readable, opts: StoreLayerOptions): Promise<UnpackResult> {
  const key = opts.diffId ?? opts.compressedDigest ?? `import-${randomBytes(8).toString('hex')}`;
  return storeInto(
    store,
    key,
    (work) => (opts.workers ? opts.workers.unpack(source, work, opts) : unpackLayerStream(source, work, opts)),
    opts.onUnpacked,
  );
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
  return storeInto(store, key, async (work) => {
    const tarSplit = path.join(path.dirname(work), TAR_SPLIT_FILE);
    const sink = new LayerSink(work, { tarSplit, contentFile: opts.contentFile });
    let result: UnpackResult;
    try {
      let n = 0;
      for (const piece of pieces) {
        if (piece.length) sink.write(piece);
        if (++n % PIECES_PER_TURN === 0) await new Promise(setImmediate);
      }
      result = sink.finish();
    } finally {
      sink.abort();
    }
    if (opts.diffId && result.diffId !== opts.diffId)
      throw new DigestMismatchError(opts.diffId, result.diffId, `${opts.what} (uncompressed)`);
    return result;
  });
}
