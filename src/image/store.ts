// The local image store. Content-addressed: image configs are blobs named by their sha256, layers
// are unpacked once into layers/<diff_id hex>/diff and shared by every image that lists them.
// Tags are one small file each (repositories/<name>/<tag> holding the image id), so tagging is a
// single atomic rename and needs no global lock.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { layout, Roots } from '../paths';
import { mkdirp, readFileIfExists, tempNameFor, writeFileAtomic } from '../util/fs';
import { ImageConfig } from './config';
import { ImageRef, parseImageRef } from './reference';

export interface ImageRecord {
  id: string; // "sha256:<hex>" of the config blob
  config: ImageConfig;
  tags: string[]; // "name:tag"
  created?: string;
  size: number;
}

const hexOf = (digest: string) => digest.replace(/^sha256:/, '');
const encodeName = (name: string) => encodeURIComponent(name);
const decodeName = (file: string) => decodeURIComponent(file);

export class ImageStore {
  constructor(readonly roots: Roots) {}

  layerDir(diffId: string): string {
    return path.join(layout.layers(this.roots), hexOf(diffId));
  }

  /** The directory holding a layer's files (an overlay lower dir). */
  layerDiff(diffId: string): string {
    return path.join(this.layerDir(diffId), 'diff');
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
    return fs.readFileSync(path.join(layout.blobs(this.roots), hexOf(digest)));
  }

  /** Move a freshly unpacked layer into place, unless another process stored the same one first. */
  commitLayer(tmpDiffDir: string, diffId: string, size: number): void {
    const dest = this.layerDir(diffId);
    if (this.hasLayer(diffId)) {
      fs.rmSync(path.dirname(tmpDiffDir), { recursive: true, force: true });
      return;
    }
    writeFileAtomic(path.join(path.dirname(tmpDiffDir), 'size'), String(size));
    try {
      fs.renameSync(path.dirname(tmpDiffDir), dest);
    } catch (err) {
      // Lost a race with an identical layer: theirs is as good as ours.
      fs.rmSync(path.dirname(tmpDiffDir), { recursive: true, force: true });
      if (!this.hasLayer(diffId)) throw err;
    }
  }

  /** A new empty directory for unpacking a layer; commitLayer() or discardLayer() it afterwards. */
  newLayerWorkdir(): string {
    const base = layout.layers(this.roots);
    mkdirp(base);
    const dir = tempNameFor(path.join(base, 'layer'));
    fs.mkdirSync(path.join(dir, 'diff'), { recursive: true, mode: 0o755 });
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
        const id = readFileIfExists(path.join(base, n, t))?.trim();
        if (id) out.push([`${decodeName(n)}:${t}`, id]);
      }
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); // not localeCompare: loading ICU costs ~8 ms
  }

  /** Resolve "name[:tag]", a full id or a unique id prefix (at least 4 hex digits) to an image id. */
  resolve(input: string): string | undefined {
    const idLike = /^(sha256:)?[0-9a-f]{4,64}$/.test(input);
    if (!idLike || input.includes(':') && !input.startsWith('sha256:')) {
      try {
        const ref = parseImageRef(input);
        const id = readFileIfExists(path.join(layout.repositories(this.roots), encodeName(ref.name), ref.tag))?.trim();
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

  get(imageId: string): ImageRecord {
    const config = JSON.parse(this.readBlob(imageId).toString('utf8')) as ImageConfig;
    const tags = this.allTags().filter(([, id]) => id === imageId).map(([r]) => r);
    const size = config.rootfs.diff_ids.reduce((sum, d) => sum + Number(readFileIfExists(path.join(this.layerDir(d), 'size')) ?? 0), 0);
    return { id: imageId, config, tags, created: config.created, size };
  }

  /** Every image id that is tagged (or, later, referenced by a manifest). */
  list(): ImageRecord[] {
    const ids = [...new Set(this.allTags().map(([, id]) => id))];
    return ids.map((id) => this.get(id));
  }

  /** Lower dirs of an image, topmost first, as overlayfs wants them. */
  lowerDirs(config: ImageConfig): string[] {
    return config.rootfs.diff_ids.map((d) => this.layerDiff(d)).reverse();
  }

  deleteImage(imageId: string): void {
    fs.rmSync(path.join(layout.blobs(this.roots), hexOf(imageId)), { force: true });
  }

  /** Remove layers that no tagged image and no listed extra user (containers) references. */
  pruneLayers(inUse: Set<string>): number {
    const referenced = new Set<string>(inUse);
    for (const img of this.list()) for (const d of img.config.rootfs.diff_ids) referenced.add(hexOf(d));
    let removed = 0;
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(layout.layers(this.roots));
    } catch {
      return 0;
    }
    for (const d of dirs) {
      if (d.startsWith('.tmp-') || referenced.has(d)) continue;
      fs.rmSync(path.join(layout.layers(this.roots), d), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}
