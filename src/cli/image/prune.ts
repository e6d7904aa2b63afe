// `box image prune`: removes unused images, then unreferenced layers and blobs.
import { collectGarbage, GcResult } from '../../image/gc';
import { withExclusiveStore } from '../../image/store-lock';
import { parseImageRef } from '../../image/reference';
import { ImageStore } from '../../image/store';
import { ContainerStore } from '../../runtime/containers';
import { bool, CommandSpec } from '../args';
import { roots } from '../context';
import { humanSize } from '../format';

export interface PruneResult {
  untagged: string[];
  deleted: string[];
  gc: GcResult;
}

/**
 * `box image prune`: removes dangling images (with all, every image) that no container uses,
 * then collects unreferenced layers, blobs and stale work files.
 */
export async function pruneImages(store: ImageStore, all: boolean): Promise<PruneResult> {
  return withExclusiveStore(store, () => {
    const used = new Set(new ContainerStore(store.roots).list().map((c) => c.config.image.id));
    const res: PruneResult = { untagged: [], deleted: [], gc: { layers: [], blobs: [], temp: 0, bytes: 0 } };
    for (const img of store.list()) {
      if (used.has(img.id) || (!all && img.tags.length > 0)) continue;
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

export const imagePruneCommand: CommandSpec = {
  paths: [['image', 'prune']],
  summary:
    'Remove unused images: dangling ones, or with -a every image no container uses; then unreferenced layers and blobs.',
  flags: [
    {
      names: ['--all', '-a'],
      key: 'all',
      kind: 'bool',
      description: 'remove every image no container uses, not just dangling ones',
    },
    {
      names: ['--force', '-f'],
      key: 'force',
      kind: 'bool',
      description: 'do not ask for confirmation (box never asks)',
    },
  ],
  positionals: [],
  async run(a) {
    const res = await pruneImages(new ImageStore(roots()), bool(a, 'all'));
    let text = '';
    if (res.untagged.length || res.deleted.length || res.gc.layers.length) {
      text += 'Deleted Images:\n';
      for (const u of res.untagged) text += `untagged: ${u}\n`;
      for (const d of res.deleted) text += `deleted: ${d}\n`;
      for (const l of res.gc.layers) text += `deleted: ${l}\n`;
      text += '\n';
    }
    text += `Total reclaimed space: ${humanSize(res.gc.bytes)}\n`;
    process.stdout.write(text);
    return 0;
  },
};
