// Removing unused images (`image prune`, `system prune`): dangling ones, or with all every image no
// container uses, then the layers, blobs and stale work files nothing references any more.
import { ContainerStore } from '../runtime/containers';
import { collectGarbage, GcResult } from './gc';
import { parseImageRef } from './reference';
import { ImageRecord, ImageStore } from './store';
import { withExclusiveStore } from './store-lock';

export interface PruneResult {
  untagged: string[];
  deleted: string[];
  gc: GcResult;
}

/**
 * Under the store's exclusive lock (a container being created holds it shared until it has
 * started, so its image is never taken): removes dangling images (with all, every image) that no
 * container uses and `match` accepts (prune's --filter), then collects what nothing references.
 */
export async function pruneImages(
  store: ImageStore,
  all: boolean,
  match: (img: ImageRecord) => boolean = () => true,
): Promise<PruneResult> {
  return withExclusiveStore(store, () => {
    const used = new Set(new ContainerStore(store.roots).list().map((c) => c.config.image.id));
    const res: PruneResult = { untagged: [], deleted: [], gc: { layers: [], blobs: [], temp: 0, bytes: 0 } };
    for (const img of store.list()) {
      if (used.has(img.id) || (!all && img.tags.length > 0) || !match(img)) continue;
      for (const t of img.tags) {
        store.untag(parseImageRef(t));
        res.untagged.push(t);
      }
      res.untagged.push(...img.repoDigests);
      store.deleteImage(img.id);
      res.deleted.push(img.id);
    }
    res.gc = collectGarbage(store);
    return res;
  });
}

/** Docker's lines of a prune's "Deleted Images:" section. */
export function pruneLines(res: PruneResult): string[] {
  return [
    ...res.untagged.map((u) => `untagged: ${u}`),
    ...res.deleted.map((d) => `deleted: ${d}`),
    ...res.gc.layers.map((l) => `deleted: ${l}`),
  ];
}
