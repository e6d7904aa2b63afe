// `box builder prune` (and the build cache's part of `box system prune`): forgets every record of
// the build cache and removes its cache mounts (RUN --mount=type=cache), then collects the layers
// only the cache kept.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectGarbage } from '../image/gc';
import { withExclusiveStore } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { layout, Roots } from '../paths';
import { diskUsage } from '../util/disk-usage';
import { cachedLayers, cacheRecords } from './cache';
import { cacheMountsDir } from './run-mounts';

/** The cache mounts' directories, by the hash of their id (what prune lists). */
function cacheMounts(roots: Roots): string[] {
  try {
    return fs.readdirSync(cacheMountsDir(roots)).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return [];
  }
}

export async function pruneBuildCache(roots: Roots): Promise<{ keys: string[]; bytes: number }> {
  const store = new ImageStore(roots);
  // Exclusive: no build (which holds the lock shared) reads or writes the cache, or uses a cache
  // mount, meanwhile.
  return withExclusiveStore(store, () => {
    const keys = cacheRecords(roots).map((r) => r.key);
    for (const k of keys) fs.rmSync(path.join(layout.buildCache(roots), `${k}.json`), { force: true });
    let mountBytes = 0;
    const mounts = cacheMounts(roots);
    for (const m of mounts) {
      const dir = path.join(cacheMountsDir(roots), m);
      mountBytes += diskUsage(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return {
      keys: [...keys, ...mounts.map((m) => `cache mount ${m}`)],
      bytes: mountBytes + collectGarbage(store).bytes,
    };
  });
}

/**
 * `system df`'s Build Cache row: the records and cache mounts; their size is the layers only the
 * cache keeps and the cache mounts' files (all reclaimable).
 */
export function buildCacheUsage(roots: Roots): { total: number; size: number } {
  const store = new ImageStore(roots);
  const imageLayers = new Set(store.list().flatMap((i) => i.config.rootfs.diff_ids));
  const onlyCached = new Set(cachedLayers(roots).filter((d) => !imageLayers.has(d) && store.hasLayer(d)));
  const mounts = cacheMounts(roots);
  const size =
    [...onlyCached].reduce((n, d) => n + store.layerSizeOf(d), 0) +
    mounts.reduce((n, m) => n + diskUsage(path.join(cacheMountsDir(roots), m)), 0);
  return { total: cacheRecords(roots).length + mounts.length, size };
}
