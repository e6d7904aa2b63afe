// `box build`'s cache: what a step made, found again by a key of what it depends on, as BuildKit
// keys it: the state it starts from (layers and config), the instruction and, for COPY, the
// content and metadata of the files copied (never their mtimes). One small JSON file per key
// under <root>/build-cache; an entry whose layer was collected since is a miss.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageConfig } from '../image/config';
import { ImageStore } from '../image/store';
import { layout, Roots } from '../paths';
import { mkdirp, readJsonIfExists, writeJsonAtomic } from '../util/fs';

export interface CacheEntry {
  /** the layer the step made; absent for a step that only changes the config */
  diffId?: string;
  /** when the step first ran: kept, so a rebuild with no change gives the same image id */
  created: string;
}

/** The key of a build state: its layers and its runtime config (not its history). */
export function stateKey(config: ImageConfig): string {
  return sha256(JSON.stringify({ layers: config.rootfs.diff_ids, config: config.config ?? {} }));
}

/** The key of a step run on a state: the state, the instruction and what else it reads. */
export function stepKey(state: string, instruction: string, inputs: string = ''): string {
  return sha256(`${state}\n${instruction}\n${inputs}`);
}

export const sha256 = (s: string | Buffer): string => {
  // required here, not imported: image GC imports this file, and every container start loads GC's
  // module graph, which would load node:crypto (~1.5 ms of CPU) for nothing
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(s).digest('hex');
};

export class BuildCache {
  private readonly dir: string;

  constructor(
    private readonly store: ImageStore,
    /** --no-cache: nothing is looked up (results are still recorded for later builds) */
    private readonly lookups: boolean,
  ) {
    this.dir = layout.buildCache(store.roots);
  }

  get(key: string): CacheEntry | undefined {
    if (!this.lookups) return undefined;
    const entry = readJsonIfExists<CacheEntry>(path.join(this.dir, `${key}.json`));
    if (!entry || typeof entry.created !== 'string') return undefined;
    if (
      entry.diffId !== undefined &&
      (!/^sha256:[0-9a-f]{64}$/.test(String(entry.diffId)) || !this.store.hasLayer(entry.diffId))
    )
      return undefined;
    return entry;
  }

  /**
   * Whether an earlier build recorded a layer for this key, even under --no-cache: its result is
   * then most likely a layer the store has (the same content; only mtimes can differ).
   */
  hasRecord(key: string): boolean {
    const entry = readJsonIfExists<CacheEntry>(path.join(this.dir, `${key}.json`));
    return typeof entry?.diffId === 'string' && this.store.hasLayer(entry.diffId);
  }

  put(key: string, entry: CacheEntry): void {
    mkdirp(this.dir);
    writeJsonAtomic(path.join(this.dir, `${key}.json`), entry, 0o600, false);
  }
}

/** Every cache record: its key and what it holds (unreadable records as having no layer). */
export function cacheRecords(roots: Roots): { key: string; entry?: CacheEntry }[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(layout.buildCache(roots));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return names
    .filter((n) => /^[0-9a-f]{64}\.json$/.test(n))
    .map((n) => ({
      key: n.slice(0, 64),
      entry: readJsonIfExists<CacheEntry>(path.join(layout.buildCache(roots), n)),
    }));
}

/** The layers the cache names: garbage collection keeps them until the cache is pruned. */
export function cachedLayers(roots: Roots): string[] {
  return cacheRecords(roots)
    .map((r) => r.entry?.diffId)
    .filter((d): d is string => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d));
}
