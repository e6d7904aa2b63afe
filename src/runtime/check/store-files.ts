// Files of the storage and runtime roots that no record accounts for: work files (".tmp-" names,
// unpack directories, tmp/ entries) of writers that are dead, hidden leftovers of killed container
// creations and removals (.new-/.trash-, lock files and names of containers that do not exist),
// of killed volume creations and removals, and markers of image-store operations whose process is
// gone. A work file of a live writer, or one whose owner holds the lock that guards it, is never
// one: tokens in names say who writes (src/util/owner.ts), and the store's lock is only tried.
// --fix goes through the owners' own sweeps wherever there is one (ContainerStore.sweep, the
// store lock's reclaim, VolumeStore.reconcile), so it removes exactly what they would.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { layerWorkDirBusy } from '../../image/gc';
import { tryLockFile } from '../../image/locks';
import { storeLock } from '../../image/store-lock';
import { ImageStore } from '../../image/store';
import { CONTAINER_ID_RE, featurePaths, layout, lockPaths, Roots } from '../../paths';
import { ownerAlive, ownerOf } from '../../util/owner';
import { VolumeStore } from '../../volume/store';
import { CheckContext, persisting, readdir } from './context';
import { Checker, Finding } from './types';

const HEX = /^[0-9a-f]{64}$/;

/** Directories whose content is a container's or an image's file system, not box's own files. */
function isPayload(roots: Roots, dir: string): boolean {
  const rel = path.relative(roots.root, dir).split(path.sep);
  if (rel[0] === 'layers' && HEX.test(rel[1] ?? '') && rel.length >= 3) return true; // diff/
  if (rel[0] === 'containers' && HEX.test(rel[1] ?? '') && rel.length >= 3) return true; // upper/, work/
  if (rel[0] === 'volumes' && rel.length >= 3) return true; // _data/
  return false;
}

function isTempName(n: string): boolean {
  return n.startsWith('.tmp-') || n.includes('.tmp-');
}

/** A temporary name whose writer is dead (a live writer's work, or a layer being unpacked, is not). */
function deadWork(store: ImageStore, name: string): boolean {
  const owner = ownerOf(name);
  if (owner === undefined || ownerAlive(owner)) return false;
  return !layerWorkDirBusy(store, name);
}

/** Temporary files of dead writers anywhere under `dir` (payload directories left out). */
function deadTempFiles(roots: Roots, store: ImageStore, dir: string, out: string[], depth = 0): void {
  if (depth > 6 || isPayload(roots, dir)) return;
  for (const d of readdirTyped(dir)) {
    const p = path.join(dir, d.name);
    if (isTempName(d.name)) {
      if (deadWork(store, d.name)) out.push(p);
    } else if (d.isDirectory() && p !== roots.runroot) deadTempFiles(roots, store, p, out, depth + 1);
  }
}

function readdirTyped(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Whether the image store's lock is free now (nobody adds to the store): taken and released at once. */
function storeIdle(roots: Roots): boolean {
  const lock = tryLockFile(lockPaths.store(roots));
  lock?.release();
  return lock !== undefined;
}

function containerLeftovers(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  // a removal at work holds the container's lock, or (a foreground run --rm) its owner lock
  const gone = (id: string) => !fs.existsSync(layout.container(ctx.roots, id)) && !ctx.inUse(id);
  for (const e of readdir(layout.containers(ctx.roots))) {
    const m = /^\.(new|trash)-([0-9a-f]{64})$/.exec(e);
    if (!m || !gone(m[2])) continue;
    const what = m[1] === 'new' ? 'creation' : 'removal';
    const object = path.join(layout.containers(ctx.roots), e);
    out.push({ kind: 'store', object, reason: `left by a killed container ${what}`, detail: { sweep: 'containers' } });
  }
  for (const f of readdir(lockPaths.containers(ctx.roots))) {
    const id = f.replace(/\.lock$/, '');
    if (!CONTAINER_ID_RE.test(id) || !gone(id) || fs.existsSync(path.join(layout.containers(ctx.roots), `.new-${id}`)))
      continue;
    const object = path.join(lockPaths.containers(ctx.roots), f);
    out.push({
      kind: 'store',
      object,
      reason: 'lock file of a container that does not exist',
      detail: { sweep: 'containers' },
    });
  }
  for (const n of readdir(layout.names(ctx.roots))) {
    let owner: string;
    try {
      owner = fs.readlinkSync(path.join(layout.names(ctx.roots), n));
    } catch {
      continue;
    }
    if (CONTAINER_ID_RE.test(owner) && !gone(owner)) continue;
    const object = path.join(layout.names(ctx.roots), n);
    out.push({
      kind: 'store',
      object,
      reason: 'name of a container that does not exist',
      detail: { sweep: 'containers' },
    });
  }
  return out;
}

function volumeLeftovers(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const volumes = new VolumeStore(ctx.roots);
  const sweep = { sweep: 'volumes' };
  for (const e of readdir(layout.volumes(ctx.roots))) {
    if (!e.startsWith('.new-') && !e.startsWith('.trash-')) continue;
    const owner = ownerOf(e);
    if (owner && ownerAlive(owner)) continue;
    const object = path.join(layout.volumes(ctx.roots), e);
    out.push({ kind: 'volume', object, reason: 'left by a killed volume creation or removal', detail: sweep });
  }
  // a creation registers its volume uses under the store's lock before its record exists
  if (!storeIdle(ctx.roots)) return out;
  for (const { name, id } of volumes.usesWithoutRecord()) {
    const object = `${name}: use by ${id.slice(0, 12)}`;
    out.push({ kind: 'volume', object, reason: 'use registered by a container that does not exist', detail: sweep });
  }
  return out;
}

export const storeChecker: Checker = {
  kind: 'store',
  async find(ctx) {
    const store = new ImageStore(ctx.roots);
    const temp: string[] = [];
    deadTempFiles(ctx.roots, store, ctx.roots.root, temp);
    deadTempFiles(ctx.roots, store, ctx.roots.runroot, temp);
    const out: Finding[] = temp.map((p) => ({
      kind: 'store',
      object: p,
      reason: 'temporary file of a box command that is no longer running',
      detail: { remove: 'dead-writer' },
    }));
    // tmp/ entries without a writer's token: a dead command's only while nobody adds to the store
    const tmp = layout.tmp(ctx.roots);
    const untokened = readdir(tmp).filter((f) => ownerOf(f) === undefined);
    if (untokened.length && storeIdle(ctx.roots)) {
      for (const f of untokened) {
        const reason = 'work file of an image command that is no longer running';
        out.push({ kind: 'store', object: path.join(tmp, f), reason, detail: { remove: 'store-idle' } });
      }
    }
    for (const m of readdir(featurePaths.storeOperations(ctx.roots))) {
      const owner = ownerOf(m);
      if (m === 'swept' || (owner && ownerAlive(owner))) continue;
      const object = path.join(featurePaths.storeOperations(ctx.roots), m);
      const reason = 'marker of an image-store operation that was killed: what it wrote is unreclaimed';
      out.push({ kind: 'store', object, reason, detail: { sweep: 'store' } });
    }
    // a removal deletes its trash a moment after it made it
    const stillLeft = (list: Finding[]) => {
      const again = new Set(containerLeftovers(new CheckContext(ctx.roots)).map((f) => f.object));
      return list.filter((f) => again.has(f.object));
    };
    out.push(...(await persisting(containerLeftovers(ctx), stillLeft)), ...volumeLeftovers(ctx));
    return out;
  },
  async fix(ctx, f) {
    const how = f.detail?.sweep ?? f.detail?.remove;
    if (how === 'containers') return ctx.store.sweep();
    if (how === 'store' || how === 'volumes') {
      if (!storeIdle(ctx.roots)) throw new Error('the image store is in use by a box command');
      const lock = await storeLock(ctx.roots, 'exclusive'); // reclaims what killed holders left
      try {
        if (how === 'volumes') new VolumeStore(ctx.roots).reconcile();
      } finally {
        lock.release();
      }
      return;
    }
    if (how === 'store-idle') {
      const lock = tryLockFile(lockPaths.store(ctx.roots));
      if (!lock) throw new Error('the image store is in use by a box command');
      try {
        fs.rmSync(f.object, { recursive: true, force: true });
      } finally {
        lock.release();
      }
      return;
    }
    // a dead writer's file: looked at again, since a name's token is all that says who writes it
    if (deadWork(new ImageStore(ctx.roots), path.basename(f.object)))
      fs.rmSync(f.object, { recursive: true, force: true });
  },
};
