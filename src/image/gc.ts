// Garbage collection of the image store: layers no image and no container uses, blobs no image
// refers to, short links of gone layers, and the ".tmp-" leftovers of processes that died while
// writing. It runs under the store's exclusive lock (src/image/store-lock.ts): every pull, import,
// load and tag holds that lock shared from its first write to its tag, so nothing it wrote can
// look unreferenced, and no ".tmp-" file belongs to a live writer; a container's creation holds
// it from resolving the image until its record (which keeps the image) exists. A layer is also removed only
// while its own layer lock is free, and the container records are read again right before
// layers are removed, so a container created meanwhile keeps its layers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedLayers } from '../build/cache';
import { errnoCode } from '../errors';
import { layout } from '../paths';
import { readdirOrEmpty, readStoreFileIfExists } from '../util/fs';
import { ContainerStore } from '../runtime/containers';
import { layerLockFile, tryLockFile } from './locks';
import { ImageStore } from './store';

export interface GcResult {
  layers: string[];
  blobs: string[];
  /** stale work files and directories removed */
  temp: number;
  /** bytes reclaimed (layer tar sizes and blob sizes) */
  bytes: number;
}

export interface GcOptions {
  /** diff_ids used by containers; read again right before layers are removed */
  containerLayers: () => Iterable<string>;
}

const hexOf = (d: string) => d.replace(/^sha256:/, '');

/**
 * Every work file of the store: the ".tmp-" entries beside layers (and in them), blobs, tags and
 * image records, and everything in tmp/ (load's and push's work). Made by live writers or left by dead ones.
 */
export function workFiles(store: ImageStore): string[] {
  const out: string[] = [];
  const tmpIn = (dir: string) => {
    for (const f of readdirOrEmpty(dir)) if (f.startsWith('.tmp-')) out.push(path.join(dir, f));
  };
  const layers = layout.layers(store.roots);
  tmpIn(layers);
  // beside a committed layer's diff/: the `link` file that layerLink() writes for an older layer
  for (const d of readdirOrEmpty(layers)) if (/^[0-9a-f]{64}$/.test(d)) tmpIn(path.join(layers, d));
  tmpIn(layout.blobs(store.roots));
  const repos = layout.repositories(store.roots);
  tmpIn(repos);
  for (const n of readdirOrEmpty(repos)) if (!n.startsWith('.tmp-')) tmpIn(path.join(repos, n));
  tmpIn(layout.images(store.roots));
  const tmp = layout.tmp(store.roots);
  for (const f of readdirOrEmpty(tmp)) out.push(path.join(tmp, f));
  return out;
}

/**
 * Half-written copies of box's assets (the helper, koffi's module) in the cache: written by any
 * command, not under the store's lock, so only their writer's token says whether they are dead.
 */
export function cacheWorkFiles(store: ImageStore): string[] {
  const cache = layout.cache(store.roots);
  return readdirOrEmpty(cache)
    .filter((f) => f.includes('.tmp-'))
    .map((f) => path.join(cache, f));
}

/**
 * Whether a layer work dir's writer is alive: it holds its layer's lock while it unpacks
 * (.tmp-unpack-<key>-[<owner>-]<random>; the lock is taken only to look, and released at once).
 */
export function layerWorkDirBusy(store: ImageStore, name: string): boolean {
  const m = /^\.tmp-unpack-(.+?)-(?:\d+\.\d+-)?[0-9a-f]+$/.exec(name);
  if (!m) return false;
  const lock = tryLockFile(layerLockFile(store.roots, m[1]));
  lock?.release();
  return !lock;
}

/** tmp/ goes with its last entry, so a store that holds no work has no tmp/ either. */
export function removeTmpIfEmpty(store: ImageStore): void {
  try {
    fs.rmdirSync(layout.tmp(store.roots));
  } catch {
    /* in use, or gone already */
  }
}

/** Collects garbage; the caller must hold storeLock(roots, 'exclusive') (see withExclusiveStore). */
export function collectGarbage(store: ImageStore, opts?: GcOptions): GcResult {
  const containerLayers = opts?.containerLayers ?? containerLayersOf(store);
  const res: GcResult = { layers: [], blobs: [], temp: 0, bytes: 0 };
  const root = store.roots.root;
  const rmTemp = (p: string) => {
    fs.rmSync(p, { recursive: true, force: true });
    res.temp++;
  };

  // 1. Work files of dead writers (every one, under this lock; a layer work dir's writer also
  // held its layer's lock while alive).
  for (const p of workFiles(store)) if (!layerWorkDirBusy(store, path.basename(p))) rmTemp(p);
  removeTmpIfEmpty(store);
  const layersDir = layout.layers(store.roots);
  const blobsDir = layout.blobs(store.roots);
  const imagesDir = path.join(root, 'images');
  for (const f of readdirOrEmpty(imagesDir)) {
    if (/^[0-9a-f]{64}\.json$/.test(f) && !store.hasImage(f.slice(0, 64))) rmTemp(path.join(imagesDir, f));
  }

  // 2. What the images use.
  const images = store.list();
  const usedBlobs = new Set<string>();
  const usedLayers = new Set<string>();
  for (const img of images) {
    usedBlobs.add(hexOf(img.id));
    for (const d of img.config.rootfs.diff_ids) usedLayers.add(hexOf(d));
    const meta = store.readMeta(img.id);
    for (const m of meta.manifests ?? []) usedBlobs.add(hexOf(m));
    for (const b of meta.layerBlobs ?? []) usedBlobs.add(hexOf(b));
  }

  // 3. Blobs.
  for (const f of readdirOrEmpty(blobsDir)) {
    if (!/^[0-9a-f]{64}$/.test(f) || usedBlobs.has(f)) continue;
    const p = path.join(blobsDir, f);
    try {
      res.bytes += fs.statSync(p).size;
      fs.unlinkSync(p);
      res.blobs.push(`sha256:${f}`);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }

  // 4. Layers, with the containers' layers read now, and those `box build`'s cache keeps.
  for (const d of containerLayers()) usedLayers.add(hexOf(d));
  for (const d of cachedLayers(store.roots)) usedLayers.add(hexOf(d));
  for (const d of readdirOrEmpty(layersDir)) {
    if (!/^[0-9a-f]{64}$/.test(d) || usedLayers.has(d)) continue;
    const lock = tryLockFile(layerLockFile(store.roots, d));
    if (!lock) continue; // being written right now
    try {
      res.bytes += Number(readStoreFileIfExists(path.join(layersDir, d, 'size')) ?? 0);
      store.removeLayer(`sha256:${d}`);
      res.layers.push(`sha256:${d}`);
    } finally {
      lock.release();
    }
  }

  // 5. Short links: dangling ones, and ones their layer does not name (a lost race).
  const links = store.linksDir();
  for (const name of readdirOrEmpty(links)) {
    const p = path.join(links, name);
    let target: string;
    try {
      target = fs.readlinkSync(p);
    } catch {
      continue;
    }
    const m = /^\.\.\/layers\/([0-9a-f]{64})\/diff$/.exec(target);
    const owner = m ? readStoreFileIfExists(path.join(layersDir, m[1], 'link'))?.trim() : undefined;
    if (owner !== name) {
      fs.rmSync(p, { force: true });
      res.temp++;
    }
  }
  return res;
}

/** diff_ids that containers use (their records name their image's layers), read when called. */
export function containerLayersOf(store: ImageStore): () => string[] {
  return () => new ContainerStore(store.roots).list().flatMap((c) => c.config.layers);
}
