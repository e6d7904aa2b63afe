// `box import`: a root filesystem tarball (plain or gzip) becomes a one-layer image. The tarball
// is read once: the uncompressed bytes are hashed (the layer's diff_id) while they are unpacked.
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BoxError } from '../errors';
import { ImageConfig, ImageRuntimeConfig, goArch } from './config';
import { ImageRef } from './reference';
import { ImageStore } from './store';

/** Passes bytes through, gunzipping them when they start with gzip's magic number. */
function maybeGunzip(): Transform {
  let decided: Transform | null = null;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!decided) {
        if (chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b) {
          decided = createGunzip();
          decided.on('data', (d: Buffer) => out.push(d));
          decided.on('error', (e) => out.destroy(new BoxError(`import: the gzip stream is corrupt (${e.message})`)));
        } else {
          decided = new Transform({ transform: (c, _e, done) => done(null, c) });
          decided.on('data', (d: Buffer) => out.push(d));
        }
      }
      decided.write(chunk, cb);
    },
    flush(cb) {
      if (!decided) return cb();
      decided.once('end', () => cb());
      decided.end();
    },
  });
  return out;
}

/** Unpacks a tar stream into dir, refusing entries that would land outside it. */
async function unpackTar(source: Readable, dir: string): Promise<{ diffId: string; size: number }> {
  const tar = await import('tar');
  const hash = createHash('sha256');
  let size = 0;
  const refused: string[] = [];
  const extractor = tar.x({
    cwd: dir,
    preserveOwner: process.getuid?.() === 0,
    unlink: true,
    noChmod: false,
    onwarn: (code: string, message: string) => {
      if (/TAR_ENTRY_ERROR|path|link/i.test(code + message)) refused.push(message);
    },
  }) as unknown as Writable;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(source, maybeGunzip(), counter, extractor);
  if (refused.length) throw new BoxError(`import: refused tar entry: ${refused[0]}`);
  if (size === 0) throw new BoxError('import: the input is empty: give a tar or tar.gz of a root filesystem');
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

export async function importRootfs(store: ImageStore, source: Readable, ref: ImageRef, change: ImageRuntimeConfig = {}): Promise<string> {
  const work = store.newLayerWorkdir();
  let layer: { diffId: string; size: number };
  try {
    layer = await unpackTar(source, work);
  } catch (err) {
    store.discardLayer(work);
    if (err instanceof BoxError) throw err;
    throw new BoxError(`import: cannot unpack the tarball: ${(err as Error).message}`);
  }
  store.commitLayer(work, layer.diffId, layer.size);
  const now = new Date().toISOString();
  const config: ImageConfig = {
    created: now,
    architecture: goArch(),
    os: 'linux',
    config: { ...change },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: now, created_by: 'box import', comment: 'Imported from tarball' }],
  };
  const id = store.putConfig(config);
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
  return fs.createReadStream(file);
}
