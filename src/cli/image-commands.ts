// Image commands beyond listing: tag, rmi's removal rules, image inspect, history, image prune.
import { BoxError } from '../errors';
import { collectGarbage, GcResult } from '../image/gc';
import { storeLock, withExclusiveStore } from '../image/store-lock';
import { parseImageRef } from '../image/reference';
import { ImageRecord, ImageStore } from '../image/store';
import { ContainerStore } from '../runtime/containers';
import type { ContainerRecord } from '../model';
import { bool, CommandSpec, str } from './args';
import { roots } from './context';
import { humanSize, table, timeAgo } from './format';

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const repoOf = (ref: string) => ref.slice(0, ref.lastIndexOf(':'));

/** Resolves an image or fails with Docker's wording. */
function mustResolve(store: ImageStore, name: string): string {
  const id = store.resolve(name);
  if (!id || !store.hasImage(id)) throw new BoxError(`no such image: ${name}`);
  return id;
}

/** The tag `name` names, if it is a reference (not an id) to one of img's tags. */
function tagNamed(img: ImageRecord, name: string): string | undefined {
  try {
    const full = parseImageRef(name).full;
    return img.tags.includes(full) ? full : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `box rmi` with Docker's rules. By tag: only that tag goes while others remain; the last tag
 * of an image a container uses is refused without -f (with -f, the tag goes and the image stays
 * while a running container uses it). By id: an image with tags in several repositories, or one
 * a stopped container uses, needs -f; one a running container uses cannot be removed.
 * Unreferenced layers and blobs are collected afterwards, under the store's exclusive lock.
 */
export async function removeImages(store: ImageStore, names: string[], force: boolean, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  return withExclusiveStore(store, () => {
    let code = 0;
    const containers = new ContainerStore(store.roots).list();
    let deleted = false;
    for (const name of names) {
      try {
        const id = mustResolve(store, name);
        const img = store.get(id);
        const users = containers.filter((c) => c.config.image.id === id);
        const running = users.find((c) => c.state.status === 'running');
        const stopped = users.find((c) => c.state.status !== 'running');
        const describe = (c: ContainerRecord) => `${c.id.slice(0, 12)} (${c.name})`;
        const tag = tagNamed(img, name);
        if (tag) {
          if (img.tags.length > 1) {
            store.untag(parseImageRef(tag));
            out.write(`Untagged: ${tag}\n`);
            continue;
          }
          const user = running ?? stopped;
          if (user && !force) throw new BoxError(`conflict: unable to remove repository reference "${name}" (must force) - container ${describe(user)} is using its referenced image ${shortId(id)}`);
          store.untag(parseImageRef(tag));
          out.write(`Untagged: ${tag}\n`);
          if (running) continue; // the image stays (untagged) while a running container uses it
        } else {
          if (running) throw new BoxError(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${describe(running)}`);
          if (stopped && !force) throw new BoxError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${describe(stopped)}`);
          if (new Set(img.tags.map(repoOf)).size > 1 && !force) {
            throw new BoxError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories (${img.tags.join(', ')})`);
          }
          for (const t of img.tags) {
            store.untag(parseImageRef(t));
            out.write(`Untagged: ${t}\n`);
          }
        }
        for (const r of img.repoDigests) out.write(`Untagged: ${r}\n`);
        store.deleteImage(id);
        out.write(`Deleted: ${id}\n`);
        deleted = true;
      } catch (e) {
        if (!(e instanceof BoxError)) throw e;
        err.write(`box: ${e.message}\n`);
        code = 1;
      }
    }
    if (deleted) collectGarbage(store);
    return code;
  });
}

export const tagCommand: CommandSpec = {
  paths: [['tag'], ['image', 'tag']],
  summary: 'Give an image another name (TARGET refers to SOURCE).',
  flags: [],
  positionals: [{ name: 'SOURCE_IMAGE[:TAG]' }, { name: 'TARGET_IMAGE[:TAG]' }],
  examples: ['box tag busybox:latest registry.local:5000/tools/busybox:1.36'],
  async run(a) {
    const store = new ImageStore(roots());
    const target = parseImageRef(a.positionals[1]);
    const lock = await storeLock(store.roots, 'shared');
    try {
      const id = mustResolve(store, a.positionals[0]);
      await store.registerImage(id);
      store.tag(target, id);
    } finally {
      lock.release();
    }
    return 0;
  },
};

/** Docker's `image inspect` object for one image. */
export function inspectImage(store: ImageStore, id: string): Record<string, unknown> {
  const img = store.get(id);
  const c = img.config;
  const raw = c as unknown as Record<string, unknown>;
  const layers = store.lowerDirs(c); // topmost first
  const graph: Record<string, string> = {};
  if (layers.length) graph.UpperDir = layers[0];
  if (layers.length > 1) graph.LowerDir = layers.slice(1).join(':');
  return {
    Id: img.id,
    RepoTags: img.tags,
    RepoDigests: img.repoDigests,
    Parent: '',
    Comment: c.history?.[c.history.length - 1]?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: (raw.docker_version as string | undefined) ?? '',
    Author: (raw.author as string | undefined) ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(raw.variant ? { Variant: raw.variant } : {}),
    Os: c.os,
    Size: img.size,
    GraphDriver: { Name: 'overlay', Data: graph },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: img.added ?? '' },
  };
}

export const imageInspectCommand: CommandSpec = {
  paths: [['image', 'inspect']],
  summary: 'Show images in detail, as Docker-shaped JSON.',
  flags: [],
  positionals: [{ name: 'IMAGE', rest: true }],
  async run(a) {
    const store = new ImageStore(roots());
    const found: Record<string, unknown>[] = [];
    let code = 0;
    for (const name of a.positionals) {
      try {
        found.push(inspectImage(store, mustResolve(store, name)));
      } catch (e) {
        if (!(e instanceof BoxError)) throw e;
        process.stderr.write(`box: ${e.message}\n`);
        code = 1;
      }
    }
    process.stdout.write(JSON.stringify(found, null, 4) + '\n');
    return code;
  },
};

export interface HistoryRow {
  id: string; // the image id on the top row, <missing> below, as Docker shows it
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

/** The image's history, newest first, each entry with the size of the layer it made. */
export function imageHistory(store: ImageStore, id: string): HistoryRow[] {
  const img = store.get(id);
  const diffIds = img.config.rootfs.diff_ids;
  const layerSize = (d: string | undefined) => (d ? Number(store.layerSizeOf(d)) : 0);
  const rows: HistoryRow[] = [];
  const history = img.config.history ?? [];
  let li = 0;
  if (history.length) {
    for (const h of history) {
      const empty = h.empty_layer === true;
      rows.push({ id: '<missing>', created: h.created, createdBy: h.created_by ?? '', size: empty ? 0 : layerSize(diffIds[li++]), comment: h.comment ?? '', emptyLayer: empty });
    }
  }
  // Layers the history does not describe (or no history at all).
  for (; li < diffIds.length; li++) rows.push({ id: '<missing>', created: img.created, createdBy: '', size: layerSize(diffIds[li]), comment: '', emptyLayer: false });
  rows.reverse();
  if (rows.length) rows[0].id = img.id;
  return rows;
}

export const historyCommand: CommandSpec = {
  paths: [['history'], ['image', 'history']],
  summary: 'Show the history of an image.',
  flags: [
    { names: ['--no-trunc'], key: 'noTrunc', kind: 'bool', description: "don't truncate output" },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'only show image ids' },
    { names: ['--human', '-H'], key: 'human', kind: 'string', value: 'bool', description: 'sizes and dates in human-readable form (default true)' },
    { names: ['--format'], key: 'format', kind: 'string', value: 'json', description: 'json: one JSON object per line' },
  ],
  positionals: [{ name: 'IMAGE' }],
  async run(a) {
    const store = new ImageStore(roots());
    const rows = imageHistory(store, mustResolve(store, a.positionals[0]));
    const noTrunc = bool(a, 'noTrunc');
    const human = str(a, 'human') !== 'false';
    const id = (i: string) => (i === '<missing>' || noTrunc ? i : shortId(i));
    if (bool(a, 'quiet')) {
      process.stdout.write(rows.map((r) => id(r.id) + '\n').join(''));
      return 0;
    }
    if (str(a, 'format') === 'json') {
      for (const r of rows) process.stdout.write(JSON.stringify({ ID: r.id, CreatedAt: r.created ?? '', CreatedBy: r.createdBy, Size: r.size, Comment: r.comment }) + '\n');
      return 0;
    }
    const by = (s: string) => {
      const flat = s.replace(/[\t\n]/g, ' ');
      return noTrunc || flat.length <= 45 ? flat : flat.slice(0, 44) + '…';
    };
    const body = rows.map((r) => [id(r.id), human ? timeAgo(r.created) : r.created ?? '', by(r.createdBy), human ? humanSize(r.size) : String(r.size), r.comment]);
    process.stdout.write(table(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], body));
    return 0;
  },
};

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
  summary: 'Remove unused images: dangling ones, or with -a every image no container uses; then unreferenced layers and blobs.',
  flags: [
    { names: ['--all', '-a'], key: 'all', kind: 'bool', description: 'remove every image no container uses, not just dangling ones' },
    { names: ['--force', '-f'], key: 'force', kind: 'bool', description: 'do not ask for confirmation (box never asks)' },
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

export const loadCommand: CommandSpec = {
  paths: [['load'], ['image', 'load']],
  summary: 'Load images from a docker-archive or OCI layout tarball (docker save, skopeo, podman).',
  flags: [
    { names: ['--input', '-i'], key: 'input', kind: 'string', value: 'file', description: 'read from this file instead of standard input (- is standard input)' },
    { names: ['--quiet', '-q'], key: 'quiet', kind: 'bool', description: 'accepted for compatibility: box prints only what was loaded' },
  ],
  positionals: [],
  async run(a) {
    const { loadArchive } = require('../image/load') as typeof import('../image/load');
    const { openImportSource } = require('../image/import') as typeof import('../image/import');
    const input = str(a, 'input') ?? '-';
    if (input === '-' && process.stdin.isTTY) throw new BoxError('load: give -i FILE, or pipe an archive to standard input');
    if (input !== '-' && !require('node:fs').existsSync(input)) throw new BoxError(`load: no such file: ${input}`);
    const loaded = await loadArchive(new ImageStore(roots()), openImportSource(input));
    for (const img of loaded) {
      if (img.tags.length) for (const t of img.tags) process.stdout.write(`Loaded image: ${t}\n`);
      else process.stdout.write(`Loaded image ID: ${img.id}\n`);
    }
    return 0;
  },
};
