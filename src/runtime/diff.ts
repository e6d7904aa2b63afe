// Overlay layers read without mounting them (box diff, box cp on a stopped container): a stack of
// layer directories, topmost first, merged as overlayfs merges them (whiteouts are 0:0 character
// devices, opaque directories carry trusted.overlay.opaque=y). Every lookup inside a layer goes
// through openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, so a symlink stored in a layer is
// only ever interpreted by our own resolution inside the container's tree, never by the host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { ImageStore } from '../image/store';
import {
  lgetxattr,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  openat2,
  readlinkat,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
} from '../linux/syscalls';
import { Roots } from '../paths';
import { openNoFollow } from '../util/safe-open';
import { ContainerStore } from './containers';
import { mountBase } from './mount-base';
import { ContainerRecord } from '../model';

const STRICT = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

export const isWhiteout = (st: fs.Stats) => st.isCharacterDevice() && st.rdev === 0;

export interface Found {
  /** index of the layer holding the entry */
  layer: number;
  /** its path relative to the layer ("." for the root) */
  rel: string;
  stat: fs.Stats;
  /** for a directory: the layers whose copies of it are merged, topmost first */
  dirLayers: number[];
}

export class LayerStack {
  private readonly fds: number[];

  constructor(readonly dirs: string[]) {
    this.fds = dirs.map((d) => {
      try {
        return openNoFollow(d, O_PATH | O_DIRECTORY); // a layer or upper dir, never a link planted in the store
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return -1; // a layer without content yet (a fresh upper dir)
        throw err;
      }
    });
  }

  close(): void {
    for (const fd of this.fds) if (fd >= 0) fs.closeSync(fd);
  }

  /** fd of a layer's root directory (O_PATH), or -1 if it does not exist. */
  rootFd(layer: number): number {
    return this.fds[layer];
  }

  /** Opens rel inside one layer, refusing any symlink on the way (and at the end unless O_PATH|O_NOFOLLOW). */
  open(layer: number, rel: string, flags: number): number {
    return openat2(this.fds[layer], rel, flags, 0, STRICT);
  }

  /** The entry at rel in one layer, not following anything; undefined if absent (or behind a non-directory). */
  at(layer: number, rel: string): fs.Stats | undefined {
    if (this.fds[layer] < 0) return undefined;
    if (rel === '.' || rel === '') return fs.fstatSync(this.fds[layer]);
    let fd: number;
    try {
      fd = this.open(layer, rel, O_PATH | O_NOFOLLOW);
    } catch (err) {
      if (['ENOENT', 'ENOTDIR', 'ELOOP', 'EXDEV'].includes(errnoCode(err) ?? '')) return undefined;
      throw err;
    }
    try {
      return fs.fstatSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  readlink(layer: number, rel: string): string {
    const fd = this.open(layer, rel, O_PATH | O_NOFOLLOW);
    try {
      return readlinkat(fd, '');
    } finally {
      fs.closeSync(fd);
    }
  }

  isOpaque(layer: number, rel: string): boolean {
    try {
      return lgetxattr(path.join(this.dirs[layer], rel), 'trusted.overlay.opaque')?.toString() === 'y';
    } catch {
      return false;
    }
  }

  /** Names in one layer's copy of a directory. */
  names(layer: number, rel: string): string[] {
    if (this.fds[layer] < 0) return [];
    const fd =
      rel === '.'
        ? fs.openSync(`/proc/self/fd/${this.fds[layer]}`, O_RDONLY | O_DIRECTORY)
        : this.open(layer, rel, O_RDONLY | O_DIRECTORY);
    try {
      return fs.readdirSync(`/proc/self/fd/${fd}`);
    } finally {
      fs.closeSync(fd);
    }
  }

  private mergedBelow(from: number, candidates: number[], rel: string): number[] {
    const out: number[] = [];
    for (const i of candidates) {
      if (i < from) continue;
      const st = this.at(i, rel);
      if (!st) continue;
      if (!st.isDirectory()) break;
      out.push(i);
      if (this.isOpaque(i, rel)) break;
    }
    return out;
  }

  /**
   * Resolves an absolute path in the merged tree. Symlinks (all but the last component's unless
   * followLast) are resolved inside the tree: absolute targets start at its root and ".." stops
   * there, as with RESOLVE_IN_ROOT.
   */
  lookup(p: string, followLast: boolean, hops = 0): Found | undefined {
    const parts = path.posix
      .normalize('/' + p)
      .split('/')
      .filter(Boolean);
    const all = this.dirs.map((_, i) => i);
    let active = this.mergedBelow(0, all, '.');
    if (parts.length === 0)
      return active.length
        ? { layer: active[0], rel: '.', stat: this.at(active[0], '.')!, dirLayers: active }
        : undefined;
    let cur = '';
    for (let k = 0; k < parts.length; k++) {
      const rel = cur ? `${cur}/${parts[k]}` : parts[k];
      let found: { layer: number; stat: fs.Stats } | undefined;
      for (const i of active) {
        const st = this.at(i, rel);
        if (!st) continue;
        if (!isWhiteout(st)) found = { layer: i, stat: st };
        break;
      }
      if (!found) return undefined;
      const last = k === parts.length - 1;
      if (found.stat.isSymbolicLink() && (!last || followLast)) {
        if (hops >= 40) throw new BoxError(`too many levels of symbolic links in ${p}`);
        const target = this.readlink(found.layer, rel);
        const base = target.startsWith('/') ? target : `/${cur}/${target}`;
        return this.lookup([base, ...parts.slice(k + 1)].join('/'), followLast, hops + 1);
      }
      if (last) {
        const dirLayers = found.stat.isDirectory() ? this.mergedBelow(found.layer, active, rel) : [];
        return { layer: found.layer, rel, stat: found.stat, dirLayers };
      }
      if (!found.stat.isDirectory()) return undefined;
      active = this.mergedBelow(found.layer, active, rel);
      cur = rel;
    }
    return undefined;
  }

  /** The visible names of a merged directory. */
  readdir(dir: Found): string[] {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const i of dir.dirLayers) {
      for (const name of this.names(i, dir.rel)) {
        if (seen.has(name)) continue;
        seen.add(name);
        const st = this.at(i, dir.rel === '.' ? name : `${dir.rel}/${name}`);
        if (st && !isWhiteout(st)) out.push(name);
      }
    }
    return out.sort();
  }
}

/** Host directories of a container's image layers, topmost first. */
export function imageLayerDirs(roots: Roots, record: ContainerRecord): string[] {
  const images = new ImageStore(roots);
  return record.config.layers.map((d) => images.layerDiff(d)).reverse();
}

/**
 * Host directories of everything below a container's writable layer, topmost first: its image's
 * layers and the mount-point layer every start puts below them (what the container sees, for
 * export and cp; a container's changes are read against its image alone).
 */
export function containerLowerDirs(roots: Roots, record: ContainerRecord): string[] {
  return [...imageLayerDirs(roots, record), mountBase(roots)];
}

export function upperDir(store: ContainerStore, record: ContainerRecord): string {
  return path.join(store.dir(record.id), 'upper');
}

export type ChangeKind = 'A' | 'C' | 'D';

/**
 * The changes in a container's writable layer against its image, as docker diff lists them:
 * whiteouts are deletions, entries the image has are changes (directories holding changes
 * among them), others additions; an opaque directory also deletes what the image had in it.
 */
/**
 * Mount points the runtime creates in the writable layer when the image shadows them (and did
 * for every image lacking them, before the mount-point layer): not the user's changes.
 */
const RUNTIME_MOUNT_POINTS = new Set(['/dev', '/proc', '/sys', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

export function containerChanges(
  upper: string,
  lowerDirs: string[],
  /** the targets of the container's volumes, binds and tmpfs mounts (and directories made for them) */
  userMountPoints: string[] = [],
): [ChangeKind, string][] {
  const mountPoints = new Set([...RUNTIME_MOUNT_POINTS, ...userMountPoints]);
  const stack = new LayerStack([upper, ...lowerDirs]);
  const lower = new LayerStack(lowerDirs);
  const out: [ChangeKind, string][] = [];
  try {
    if (stack.rootFd(0) < 0) return [];
    /**
     * Reports the changes under rel; true if there was any. `inLower`: the image has rel, so its
     * entries are looked up there (a directory the image lacks has nothing of the image below it:
     * a step's thousands of new files cost no lookup each).
     */
    const walk = (rel: string, inLower: boolean): boolean => {
      let any = false;
      for (const name of stack.names(0, rel)) {
        const child = rel === '.' ? name : `${rel}/${name}`;
        const st = stack.at(0, child);
        if (!st) continue;
        const shown = `/${child}`;
        const before = inLower ? lower.lookup(shown, false) : undefined;
        if (isWhiteout(st)) {
          if (before) out.push(['D', shown]);
          any ||= before !== undefined;
          continue;
        }
        if (
          !before &&
          mountPoints.has(shown) &&
          (st.isDirectory() ? stack.names(0, child).length === 0 : st.isFile() && st.size === 0)
        )
          continue;
        if (!st.isDirectory()) {
          out.push([before ? 'C' : 'A', shown]);
          any = true;
          continue;
        }
        const at = out.length;
        let inside = walk(child, before !== undefined);
        if (before?.stat.isDirectory() && stack.isOpaque(0, child)) {
          const kept = new Set(stack.names(0, child));
          for (const gone of lower.readdir(before)) {
            if (kept.has(gone)) continue;
            out.push(['D', `${shown}/${gone}`]);
            inside = true;
          }
        }
        // A directory of the image counts as changed when something in it changed or its own mode or owner did;
        // a new one too, unless it is a mount point (or was made for one below it) with nothing else in it.
        const own = !before
          ? !mountPoints.has(shown)
          : !before.stat.isDirectory() ||
            before.stat.mode !== st.mode ||
            before.stat.uid !== st.uid ||
            before.stat.gid !== st.gid;
        if (inside || own) {
          out.splice(at, 0, [before ? 'C' : 'A', shown]);
          any = true;
        }
      }
      return any;
    };
    walk('.', true);
  } finally {
    stack.close();
    lower.close();
  }
  return out.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}
