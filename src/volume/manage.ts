// What the volume commands do, under the image store's lock (see store.ts): create holds it shared,
// as every command that adds to the store; rm and prune hold it exclusively, so that no container
// being created meanwhile can lose the volume it is about to mount.
import { BoxError } from '../errors';
import { storeLock } from '../image/store-lock';
import type { Lock } from '../image/locks';
import { Roots } from '../paths';
import { ContainerStore } from '../runtime/containers';
import { reconcileSharedTmpfs } from './shared-tmpfs';
import { anonymousVolumeName, NewVolume, VolumeRecord, VolumeStore } from './store';

/** Key=value pairs (labels, driver options); a key without '=' gets the empty value. */
export function keyValues(items: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!key) throw new BoxError(`invalid ${what} "${item}": use KEY=VALUE`);
    out[key] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return out;
}

async function withStore<T>(roots: Roots, mode: 'shared' | 'exclusive', fn: (s: VolumeStore) => T): Promise<T> {
  const lock: Lock = await storeLock(roots, mode);
  try {
    const store = new VolumeStore(roots);
    if (mode === 'exclusive') {
      store.reconcile();
      // a tmpfs still mounted for a container killed meanwhile would keep its volume from going
      const containers = new ContainerStore(roots);
      reconcileSharedTmpfs(roots, (id) => containers.isRunning(id));
    }
    return fn(store);
  } finally {
    lock.release();
  }
}

export function createVolume(roots: Roots, name: string | undefined, opts: NewVolume): Promise<VolumeRecord> {
  // nameless, it is anonymous (Docker 23+): prune without -a removes it once unused
  const anonymous = name === undefined;
  return withStore(roots, 'shared', (s) => s.create(name ?? anonymousVolumeName(), { ...opts, anonymous }).volume);
}

/** Removes each volume; a failure is one line, and Docker goes on with the others. */
export function removeVolumes(
  roots: Roots,
  names: string[],
  force: boolean,
): Promise<{ removed: string[]; failures: string[] }> {
  return withStore(roots, 'exclusive', (s) => {
    const removed: string[] = [];
    const failures: string[] = [];
    for (const name of names) {
      if (!s.get(name)) {
        if (force) removed.push(name);
        else failures.push(`no such volume: ${name}`);
        continue;
      }
      try {
        s.remove(name);
        removed.push(name);
      } catch (err) {
        if (!(err instanceof BoxError)) throw err;
        failures.push(err.message);
      }
    }
    return { removed, failures };
  });
}

export interface PruneFilter {
  /** every unused volume, not only anonymous ones (Docker 23's `prune -a`) */
  all: boolean;
  labels: Array<{ key: string; value?: string; negate: boolean }>;
}

/** Removes unused volumes (anonymous ones only, unless `all`) that match the filter. */
export function pruneVolumes(roots: Roots, filter: PruneFilter): Promise<{ removed: string[]; bytes: number }> {
  return withStore(roots, 'exclusive', (s) => {
    const removed: string[] = [];
    let bytes = 0;
    for (const v of s.list()) {
      if (!filter.all && !v.anonymous) continue;
      if (!filter.labels.every((l) => labelMatches(v, l.key, l.value) !== l.negate)) continue;
      if (s.users(v.name).length) continue;
      bytes += s.size(v.name);
      s.remove(v.name);
      removed.push(v.name);
    }
    return { removed, bytes };
  });
}

export function labelMatches(v: VolumeRecord, key: string, value: string | undefined): boolean {
  return value === undefined ? key in v.labels : v.labels[key] === value;
}
