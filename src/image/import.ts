// `box import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer image. The
// tarball is read once: the uncompressed bytes are hashed (the layer's diff_id) while they are
// unpacked (src/image/unpack.ts), and the layer is committed only when all of it unpacked.
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { BoxError } from '../errors';
import { ImageConfig, ImageRuntimeConfig, goArch } from './config';
import { PIECE_BYTES, storeLayer } from './layer-fetch';
import { storeLock } from './store-lock';
import { ImageRef } from './reference';
import { ImageStore } from './store';
import { isoTime } from '../util/iso-time';

export async function importRootfs(
  store: ImageStore,
  source: Readable,
  ref: ImageRef,
  change: ImageRuntimeConfig = {},
): Promise<string> {
  const gcLock = await storeLock(store.roots, 'shared');
  try {
    return await importLocked(store, source, ref, change);
  } finally {
    gcLock.release();
  }
}

async function importLocked(
  store: ImageStore,
  source: Readable,
  ref: ImageRef,
  change: ImageRuntimeConfig,
): Promise<string> {
  let layer: { diffId: string; size: number };
  try {
    layer = await storeLayer(store, source, { what: 'import' });
  } catch (err) {
    if (err instanceof BoxError)
      throw new BoxError(/^import\b/.test(err.message) ? err.message : `import: ${err.message}`);
    throw new BoxError(`import: cannot unpack the tarball: ${(err as Error).message}`);
  }
  const now = isoTime();
  const config: ImageConfig = {
    created: now,
    architecture: goArch(),
    os: 'linux',
    config: { ...change },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: now, created_by: 'box import', comment: 'Imported from tarball' }],
  };
  const id = store.putConfig(config);
  await store.registerImage(id);
  store.tag(ref, id);
  return id;
}

export function openImportSource(file: string): Readable {
  if (file === '-') return process.stdin;
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    throw new BoxError(`import: cannot read "${file}": give a readable tar or tar.gz file, or - for standard input`);
  }
  return fs.createReadStream(file, { highWaterMark: PIECE_BYTES });
}
