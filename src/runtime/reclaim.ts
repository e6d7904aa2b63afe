// What `box system prune` and `box system df` go through: one reclaimer per kind of object, in
// Docker's order (containers, networks, volumes, images, build cache). A kind joins by adding its
// entry to RECLAIMERS; the commands know nothing of the kinds themselves.
import { ImageStore } from '../image/store';
import { pruneVolumesForSystem, volumeUsage, volumeUsageDetail } from '../volume/usage';
import { Roots } from '../paths';
import { ContainerStore } from './containers';
import { containerSize, pruneContainers } from './container-prune';

export interface SystemPruneOptions {
  /** -a: every unused image, not only dangling ones */
  all: boolean;
  /** --volumes: anonymous volumes no container uses */
  volumes: boolean;
  /** --filter values: until=, label=, label!= */
  filters: string[];
}

export interface Pruned {
  /** Docker's heading: "Deleted Containers", "Deleted Images", ... */
  heading: string;
  lines: string[];
  bytes: number;
}

/** A row of `system df`. */
export interface Usage {
  type: string;
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** A section of `system df -v`: "Local Volumes space usage:" and its table. */
export interface UsageDetail {
  title: string;
  headers: string[];
  rows: string[][];
}

export interface Reclaimer {
  /** whether `system prune` with these options prunes this kind (volumes only with --volumes) */
  inSystemPrune(opts: SystemPruneOptions): boolean;
  prune(roots: Roots, opts: SystemPruneOptions): Promise<Pruned>;
  /** its row of `system df` (networks have none, as Docker's) */
  usage?(roots: Roots): Usage;
  /** its section of `system df -v`, if it has one beyond the images' and containers' */
  detail?(roots: Roots): UsageDetail;
}

const containers: Reclaimer = {
  inSystemPrune: () => true,
  async prune(roots, opts) {
    const res = await pruneContainers(roots, opts.filters);
    return { heading: 'Deleted Containers', lines: res.removed, bytes: res.bytes };
  },
  usage(roots) {
    const store = new ContainerStore(roots);
    const all = store.list();
    const sizes = all.map((c) => ({ c, size: containerSize(store, c) }));
    const running = sizes.filter(({ c }) => c.state.status === 'running' || c.state.restarting);
    const size = sizes.reduce((s, x) => s + x.size, 0);
    return {
      type: 'Containers',
      total: all.length,
      active: running.length,
      size,
      reclaimable: size - running.reduce((s, x) => s + x.size, 0),
    };
  },
};

/** Layer sizes counted once however many images share them, as Docker's images size. */
export function imageUsage(roots: Roots): Usage {
  const store = new ImageStore(roots);
  const images = store.list();
  const used = new Set(new ContainerStore(roots).list().map((c) => c.config.image.id));
  const sizeOf = new Map<string, number>();
  const layerSize = (d: string) => {
    if (!sizeOf.has(d)) sizeOf.set(d, store.layerSizeOf(d));
    return sizeOf.get(d)!;
  };
  const sum = (list: typeof images) => {
    const layers = new Set(list.flatMap((i) => i.config.rootfs.diff_ids));
    return [...layers].reduce((s, d) => s + layerSize(d), 0);
  };
  const size = sum(images);
  const active = images.filter((i) => used.has(i.id));
  return { type: 'Images', total: images.length, active: active.length, size, reclaimable: size - sum(active) };
}

const images: Reclaimer = {
  inSystemPrune: () => true,
  async prune(roots, opts) {
    const { pruneImages, pruneLines } = await import('../image/prune');
    const { pruneFilter } = await import('./container-filter');
    const match = pruneFilter(opts.filters);
    const res = await pruneImages(new ImageStore(roots), opts.all, (img) =>
      match(img.created ?? '', img.config.config?.Labels ?? {}),
    );
    return { heading: 'Deleted Images', lines: pruneLines(res), bytes: res.gc.bytes };
  },
  usage: imageUsage,
};

/** `box build`'s cache: its records, and the layers only they keep (src/build/prune.ts). */
const buildCache: Reclaimer = {
  inSystemPrune: () => true,
  async prune(roots) {
    const { pruneBuildCache } = await import('../build/prune');
    const res = await pruneBuildCache(roots);
    return { heading: 'Deleted build cache objects', lines: res.keys, bytes: res.bytes };
  },
  usage(roots) {
    const { buildCacheUsage } = require('../build/prune') as typeof import('../build/prune');
    const { total, size } = buildCacheUsage(roots);
    return { type: 'Build Cache', total, active: 0, size, reclaimable: size };
  },
};

/** Volumes: pruned by `system prune` with --volumes only (anonymous ones no container uses). */
const volumes: Reclaimer = {
  inSystemPrune: (opts) => opts.volumes,
  prune: (roots) => pruneVolumesForSystem(roots),
  usage: volumeUsage,
  detail: volumeUsageDetail,
};

/** User networks no container names, as `network prune` (and Docker's `system prune`) removes them. */
const networks: Reclaimer = {
  inSystemPrune: () => true,
  async prune(roots, opts) {
    const { pruneNetworks } = await import('../network/manage');
    const { NetworkStore } = await import('../network/store');
    const { pruneFilter } = await import('./container-filter');
    const match = pruneFilter(opts.filters);
    const store = new NetworkStore(roots);
    const removed = await pruneNetworks(store, new ContainerStore(roots), (n) => match(n.Created, n.Labels));
    return { heading: 'Deleted Networks', lines: removed, bytes: 0 };
  },
};

/** In Docker's order of `system prune`: containers, networks, volumes, images, the build cache. */
export const RECLAIMERS: Reclaimer[] = [containers, networks, volumes, images, buildCache];

/** `system df`'s rows are in Docker's order (Images, Containers, Local Volumes, Build Cache). */
export const USAGE_ORDER = ['Images', 'Containers', 'Local Volumes', 'Build Cache'];
