// The local image store. Content-addressed: image configs are blobs named by their sha256, layers
// are unpacked once into layers/<diff_id hex>/diff and shared by every image that lists them.
// Tags are one small file each (repositories/<name>/<tag> holding the image id), so tagging is a
// single atomic rename and needs no global lock.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { layout, lockPaths, Roots } from '../paths';
import {
  mkdirp,
  readStoreFileIfExists,
  readJsonIfExists,
  tempNameFor,
  writeFileAtomic,
  writeJsonAtomic,
} from '../util/fs';
import { ownedName } from '../util/owner';
import { randomBytesSync } from '../util/random';
import { readNoFollow } from '../util/safe-open';
import { ImageConfig } from './config';
import { syncfs } from '../linux/syscalls';
import { lockFile } from './locks';
import { mark } from '../util/trace';
import { ImageRef, parseImageRef } from './reference';
import { isoTime } from '../util/iso-time';

export interface ImageRecord {
  id: string; // "sha256:<hex>" of the config blob
  config: ImageConfig;
  tags: string[]; // "name:tag"
  created?: string;
  size: number;
  /** "name@sha256:<manifest digest>" for images pulled or loaded with a manifest */
  repoDigests: string[];
  /** when box stored or last tagged the image */
  added?: string;
}

/** What box records about an image besides its config (images/<hex>.json). */
export interface ImageMeta {
  repoDigests?: string[];
  /** manifest blobs that belong to this image (kept by garbage collection while it exists) */
  manifests?: string[];
  /** compressed layer blobs kept in the blob store (from a load), reused by save */
  layerBlobs?: string[];
  added?: string;
}

/** The kernel copies overlay's mount options into one page: the whole option string must fit. */
export const OVERLAY_DATA_LIMIT = 4096;
/** Bytes of that page left for upperdir=, workdir= and the rest of the options. */
export const OVERLAY_DATA_RESERVE = 512;
const LINK_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const LINK_LEN = 8;
/** A name box made (read back from a layer's `link` file, so checked: never a path). */
const LINK_NAME_RE = /^[a-z0-9]+$/;

/** What l/<name> of the layer <hex> points at. */
const linkTarget = (hex: string) => `../layers/${hex}/diff`;

function newLinkName(): string {
  const b = randomBytesSync(LINK_LEN);
  let s = '';
  for (const x of b) s += LINK_ALPHABET[x % LINK_ALPHABET.length];
  return s;
}

const hexOf = (digest: string) => digest.replace(/^sha256:/, '');
const encodeName = (name: string) => encodeURIComponent(name);
const decodeName = (file: string) => decodeURIComponent(file);

export class ImageStore {
  constructor(readonly roots: Roots) {}

  /**
   * Called before this object writes a short link (for a layer that predates them): the one write
   * a container's creation may make into the store, whose lock then leaves its marker (store-lock.ts).
   */
  beforeLinkWrite?: () => void;

  layerDir(diffId: string): string {
    return path.join(layout.layers(this.roots), hexOf(diffId));
  }

  /** The directory holding a layer's files (an overlay lower dir). */
  layerDiff(diffId: string): string {
    return path.join(this.layerDir(diffId), 'diff');
  }

  /** <root>/l: short names (symlinks to layers/<hex>/diff), so many lower dirs fit overlay's option page. */
  linksDir(): string {
    return layout.links(this.roots);
  }

  /**
   * The short link name of a layer ("<root>/l/<name>"), created if the layer predates links. Two
   * processes creating it at once agree: the layer's `link` file is created with link(2), which
   * never replaces, and the loser removes its own symlink.
   */
  layerLink(diffId: string): string {
    const linkFile = path.join(this.layerDir(diffId), 'link');
    const existing = readStoreFileIfExists(linkFile)?.trim();
    if (existing) {
      const p = path.join(this.linksDir(), existing);
      let target: string | undefined;
      try {
        if (LINK_NAME_RE.test(existing)) target = fs.readlinkSync(p);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        this.beforeLinkWrite?.();
        this.makeLinkSymlink(existing, hexOf(diffId), true); // the symlink was lost: made again
        return p;
      }
      // The kernel follows it at mount time: it must be the link box made, to this layer only.
      if (target !== linkTarget(hexOf(diffId))) {
        const fix = 'remove the images that use it and pull them again';
        throw new BoxError(`the short link ${p} of layer ${diffId} was changed: ${fix}`);
      }
      return p;
    }
    if (!this.hasLayer(diffId)) throw new BoxError(`layer ${diffId} is not in the store`);
    this.beforeLinkWrite?.();
    const name = this.makeLinkSymlink(undefined, hexOf(diffId));
    const tmp = tempNameFor(linkFile);
    fs.writeFileSync(tmp, name + '\n', { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(tmp, linkFile);
    } catch (err) {
      fs.rmSync(path.join(this.linksDir(), name), { force: true });
      if (errnoCode(err) !== 'EEXIST') throw err;
      return this.layerLink(diffId);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return path.join(this.linksDir(), name);
  }

  /** Creates l/<name> -> ../layers/<hex>/diff with a fresh name (or the given one); returns the name. */
  private makeLinkSymlink(name: string | undefined, hex: string, replace = false): string {
    mkdirp(this.linksDir());
    for (;;) {
      const n = name ?? newLinkName();
      try {
        fs.symlinkSync(linkTarget(hex), path.join(this.linksDir(), n));
        return n;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        if (name !== undefined) {
          if (replace) return n;
          throw err;
        }
      }
    }
  }

  /**
   * Lower dirs for overlayfs, topmost first, as short absolute paths (<root>/l/<name>, symlinks
   * the kernel resolves at mount time), so that images of 128 and more layers fit in the single
   * page of mount options (with the mount-point layer a start adds). Throws a clear error when
   * even the short names do not fit.
   */
  overlayLowerDirsFor(diffIds: string[]): string[] {
    // A layer the image has twice (two RUN steps that changed nothing) is given once, at its
    // topmost place: overlayfs refuses a lower dir given twice (ELOOP), and the lower copy is
    // covered entirely by the upper one anyway.
    const dirs = [...new Set(diffIds.map((d) => this.layerLink(d)).reverse())];
    // a container's start adds its mount-point layer below them (src/runtime/mount-base.ts)
    const below = path.join(layout.mountBase(this.roots), 'diff').length + 1;
    const len = 'lowerdir='.length + dirs.reduce((n, d) => n + d.length + 1, below);
    if (len > OVERLAY_DATA_LIMIT - OVERLAY_DATA_RESERVE) {
      throw new BoxError(
        `the image has ${diffIds.length} layers: their overlay lower dirs take ${len} bytes of the kernel's ` +
          `${OVERLAY_DATA_LIMIT}-byte mount options; use a shorter --root (now ${this.roots.root}) or squash the image`,
      );
    }
    return dirs;
  }

  /** overlayLowerDirsFor() of an image's layers. */
  overlayLowerDirs(config: ImageConfig): string[] {
    return this.overlayLowerDirsFor(config.rootfs.diff_ids);
  }

  /** Bytes of a layer's uncompressed tar (0 when unknown). */
  layerSizeOf(diffId: string): number {
    return Number(readStoreFileIfExists(path.join(this.layerDir(diffId), 'size')) ?? 0);
  }

  hasLayer(diffId: string): boolean {
    return fs.existsSync(this.layerDiff(diffId));
  }

  /** Store a blob under its digest; returns "sha256:<hex>". */
  putBlob(data: Buffer): string {
    const { createHash } = require('node:crypto') as typeof import('node:crypto'); // only when storing
    const hex = createHash('sha256').update(data).digest('hex');
    const dir = layout.blobs(this.roots);
    mkdirp(dir);
    const file = path.join(dir, hex);
    if (!fs.existsSync(file)) writeFileAtomic(file, data);
    return `sha256:${hex}`;
  }

  readBlob(digest: string): Buffer {
    return readNoFollow(path.join(layout.blobs(this.roots), hexOf(digest)));
  }

  /**
   * Move a freshly unpacked layer into place, unless another process stored the same one first.
   * Everything of the layer (its files, tar-split record, size, link file and short link) reaches
   * the disk before the rename commits it: a committed layer is never re-unpacked, so after a
   * power loss it must not hold files that were never written (the zero-length files containerd
   * and containers/storage users have met). One syncfs, after everything is written, is far
   * cheaper than an fsync per file, and it waits on a worker thread, not in the event loop.
   */
  async commitLayer(tmpDiffDir: string, diffId: string, size: number): Promise<void> {
    const dest = this.layerDir(diffId);
    const work = path.dirname(tmpDiffDir);
    if (this.hasLayer(diffId)) {
      fs.rmSync(work, { recursive: true, force: true });
      return;
    }
    writeFileAtomic(path.join(work, 'size'), String(size), 0o600, false);
    // The short link exists (dangling) before the layer does, so a committed layer always has one.
    const link = this.makeLinkSymlink(undefined, hexOf(diffId));
    try {
      writeFileAtomic(path.join(work, 'link'), link + '\n', 0o600, false);
      mark('layer: unpacked');
      await syncfs(tmpDiffDir);
      mark('layer: synced');
      fs.renameSync(work, dest);
    } catch (err) {
      // Lost a race with an identical layer: theirs is as good as ours.
      fs.rmSync(path.join(this.linksDir(), link), { force: true });
      fs.rmSync(work, { recursive: true, force: true });
      if (!this.hasLayer(diffId)) throw err;
    }
  }

  /** A new empty directory for unpacking a layer; commitLayer() or discardLayer() it afterwards. */
  newLayerWorkdir(): string {
    const base = layout.layers(this.roots);
    mkdirp(base);
    const dir = tempNameFor(path.join(base, 'layer'));
    fs.mkdirSync(dir, { mode: 0o700 }); // layers/<hex>: root-only, as the whole store
    fs.mkdirSync(path.join(dir, 'diff'), { mode: 0o755 }); // the image's `/`: its own mode comes with the layer
    return path.join(dir, 'diff');
  }

  discardLayer(tmpDiffDir: string): void {
    fs.rmSync(path.dirname(tmpDiffDir), { recursive: true, force: true });
  }

  putConfig(config: ImageConfig): string {
    return this.putBlob(Buffer.from(JSON.stringify(config)));
  }

  tag(ref: ImageRef, imageId: string): void {
    const dir = path.join(layout.repositories(this.roots), encodeName(ref.name));
    mkdirp(dir);
    writeFileAtomic(path.join(dir, ref.tag), imageId + '\n');
  }

  untag(ref: ImageRef): boolean {
    try {
      fs.unlinkSync(path.join(layout.repositories(this.roots), encodeName(ref.name), ref.tag));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
    try {
      fs.rmdirSync(path.join(layout.repositories(this.roots), encodeName(ref.name)));
    } catch {
      /* other tags of the same name remain */
    }
    return true;
  }

  /** All tags as [ref "name:tag", image id]. */
  allTags(): [string, string][] {
    const out: [string, string][] = [];
    const base = layout.repositories(this.roots);
    let names: string[] = [];
    try {
      names = fs.readdirSync(base);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    for (const n of names) {
      let tags: string[] = [];
      try {
        tags = fs.readdirSync(path.join(base, n)).filter((t) => !t.startsWith('.tmp-'));
      } catch {
        continue;
      }
      for (const t of tags) {
        const id = readStoreFileIfExists(path.join(base, n, t))?.trim();
        if (id) out.push([`${decodeName(n)}:${t}`, id]);
      }
    }
    // not localeCompare: loading ICU cost ~8 ms (measured 2026-11-23 on the 2-core dev VM)
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Resolve "name[:tag]", a full id or a unique id prefix (at least 4 hex digits) to an image id. */
  resolve(input: string): string | undefined {
    const idLike = /^(sha256:)?[0-9a-f]{4,64}$/.test(input);
    if (!idLike || (input.includes(':') && !input.startsWith('sha256:'))) {
      try {
        const ref = parseImageRef(input);
        const id = readStoreFileIfExists(
          path.join(layout.repositories(this.roots), encodeName(ref.name), ref.tag),
        )?.trim();
        if (id) return id;
      } catch (err) {
        if (!idLike) throw err;
      }
    }
    if (idLike) {
      const prefix = hexOf(input);
      let blobs: string[] = [];
      try {
        blobs = fs.readdirSync(layout.blobs(this.roots));
      } catch {
        /* empty store */
      }
      const ids = new Set(this.allTags().map(([, id]) => hexOf(id)));
      const matches = blobs.filter((b) => b.startsWith(prefix) && (ids.has(b) || this.isImageConfig(b)));
      if (matches.length > 1) throw new BoxError(`image id prefix "${input}" is ambiguous: give more digits`);
      if (matches.length === 1) return `sha256:${matches[0]}`;
    }
    return undefined;
  }

  private isImageConfig(hex: string): boolean {
    try {
      const c = JSON.parse(this.readBlob(hex).toString('utf8')) as Partial<ImageConfig>;
      return c.rootfs?.type === 'layers';
    } catch {
      return false;
    }
  }

  private metaFile(imageId: string): string {
    return path.join(layout.images(this.roots), hexOf(imageId) + '.json');
  }

  readMeta(imageId: string): ImageMeta {
    return readJsonIfExists<ImageMeta>(this.metaFile(imageId)) ?? {};
  }

  /**
   * Records an image (so it stays listed once untagged, as <none>) with what is known about
   * where it came from; merges with an existing record. The config blob must be stored first.
   * The read-modify-write holds the image's own lock: two pulls of one image under different
   * names both end up in its record.
   */
  async registerImage(
    imageId: string,
    add: { repoDigest?: string; manifest?: string; layerBlobs?: string[] } = {},
  ): Promise<void> {
    const file = this.metaFile(imageId);
    mkdirp(path.dirname(file));
    const lock = await lockFile(lockPaths.image(this.roots, hexOf(imageId)));
    try {
      const m = this.readMeta(imageId);
      const repoDigests = new Set(m.repoDigests ?? []);
      const manifests = new Set(m.manifests ?? []);
      if (add.repoDigest) {
        // One digest per repository name, as Docker keeps it: the newest pull wins.
        const name = add.repoDigest.slice(0, add.repoDigest.lastIndexOf('@'));
        for (const r of repoDigests) if (r.slice(0, r.lastIndexOf('@')) === name) repoDigests.delete(r);
        repoDigests.add(add.repoDigest);
      }
      if (add.manifest) manifests.add(add.manifest);
      const layerBlobs = new Set([...(m.layerBlobs ?? []), ...(add.layerBlobs ?? [])]);
      const meta: ImageMeta = {
        repoDigests: [...repoDigests].sort(),
        manifests: [...manifests].sort(),
        added: m.added ?? isoTime(),
      };
      if (layerBlobs.size) meta.layerBlobs = [...layerBlobs].sort();
      writeJsonAtomic(file, meta);
    } finally {
      lock.release();
    }
  }

  hasImage(imageId: string): boolean {
    return fs.existsSync(path.join(layout.blobs(this.roots), hexOf(imageId)));
  }

  get(imageId: string): ImageRecord {
    let config: ImageConfig;
    try {
      config = JSON.parse(this.readBlob(imageId).toString('utf8')) as ImageConfig;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new BoxError(`no such image: ${imageId}`);
      throw err;
    }
    const tags = this.allTags()
      .filter(([, id]) => id === imageId)
      .map(([r]) => r);
    const size = config.rootfs.diff_ids.reduce(
      (sum, d) => sum + Number(readStoreFileIfExists(path.join(this.layerDir(d), 'size')) ?? 0),
      0,
    );
    const meta = this.readMeta(imageId);
    return {
      id: imageId,
      config,
      tags,
      created: config.created,
      size,
      repoDigests: meta.repoDigests ?? [],
      added: meta.added,
    };
  }

  /** Ids of every recorded image: tagged ones and untagged (dangling) ones. */
  imageIds(): string[] {
    const ids = new Set(this.allTags().map(([, id]) => id));
    let files: string[] = [];
    try {
      files = fs.readdirSync(layout.images(this.roots));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    for (const f of files) {
      const m = /^([0-9a-f]{64})\.json$/.exec(f);
      if (m && this.hasImage(m[1])) ids.add(`sha256:${m[1]}`);
    }
    return [...ids];
  }

  /** Every image (tagged or not), newest first. */
  list(): ImageRecord[] {
    const out: ImageRecord[] = [];
    for (const id of this.imageIds()) {
      try {
        out.push(this.get(id));
      } catch {
        /* removed concurrently */
      }
    }
    return out.sort((a, b) =>
      (a.created ?? '') < (b.created ?? '') ? 1 : (a.created ?? '') > (b.created ?? '') ? -1 : 0,
    );
  }

  /** Lower dirs of an image, topmost first (full layer paths; for reading files, not for mounting). */
  lowerDirs(config: ImageConfig): string[] {
    return config.rootfs.diff_ids.map((d) => this.layerDiff(d)).reverse();
  }

  /** Forgets an image: its record and config blob (tags must be gone already; layers go with gc). */
  deleteImage(imageId: string): void {
    fs.rmSync(this.metaFile(imageId), { force: true });
    fs.rmSync(path.join(layout.blobs(this.roots), hexOf(imageId)), { force: true });
  }

  /** Removes a layer and its short link. The caller holds the layer's lock and knows nothing uses it. */
  removeLayer(diffId: string): void {
    const link = readStoreFileIfExists(path.join(this.layerDir(diffId), 'link'))?.trim();
    // Renamed away first: the layer disappears at once, never half-removed under its own name.
    const base = layout.layers(this.roots);
    const doomed = path.join(base, ownedName(`.tmp-rm-${hexOf(diffId)}`, randomBytesSync(4).toString('hex')));
    try {
      fs.renameSync(this.layerDir(diffId), doomed);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    if (link) fs.rmSync(path.join(this.linksDir(), link), { force: true });
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  /** Remove layers that no image and no listed extra user (containers) references. */
  pruneLayers(inUse: Set<string>): number {
    const referenced = new Set<string>([...inUse].map(hexOf));
    for (const img of this.list()) for (const d of img.config.rootfs.diff_ids) referenced.add(hexOf(d));
    let removed = 0;
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(layout.layers(this.roots));
    } catch {
      return 0;
    }
    for (const d of dirs) {
      if (d.startsWith('.tmp-') || referenced.has(d) || !/^[0-9a-f]{64}$/.test(d)) continue;
      this.removeLayer(`sha256:${d}`);
      removed++;
    }
    return removed;
  }
}
