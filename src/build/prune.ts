// `box builder prune` (and the build cache's part of `box system prune`): forgets every record of
// the build cache, then collects the layers only the cache kept.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectGarbage } from '../image/gc';
import { withExclusiveStore } from '../image/store-lock';
import { ImageStore } from '../image/store';
import { layout, Roots } from '../paths';
import { cachedLayers, cacheRecords } from './cache';

export async function pruneBuildCache(roots: Roots): Promise<{ keys: string[]; bytes: number }> {
  const store = new ImageStore(roots);
  // Exclusive: no build (which holds the lock shared) reads or writes the cache meanwhile.
  return withExclusiveStore(store, () => {
    const keys = cacheRecords(roots).map((r) => r.key);
    for (const k of keys) fs.rmSync(path.join(layout.buildCache(roots), `${k}.json`), { force: true });
    return { keys, bytes: collectGarbage(store).bytes };
  });
}

/** `system df`'s Build Cache row: the records, and the layers only the cache keeps (reclaimable). */
export function buildCacheUsage(roots: Roots): { total: number; size: number } {
  const store = new ImageStore(roots);
  const imageLayers = new Set(store.list().flatMap((i) => i.config.rootfs.diff_ids));
  const onlyCached = new Set(cachedLayers(roots).filter((d) => !imageLayers.has(d) && store.hasLayer(d)));
  const size = [...onlyCached].reduce((n, d) => n + store.layerSizeOf(d), 0);
  return { total: cacheRecords(roots).length, size };
}
