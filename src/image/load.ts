// `box load`: docker-archive (docker save's manifest.json format, including the OCI layout that
// Docker 25+ writes alongside it) and OCI image layout tarballs. The archive is read once, its
// regular files extracted into a private work directory (names confined by the same rules as
// layers; symlinks between layer files, as older docker save writes, resolved inside it), then
// each image's config is verified by digest and its layers are unpacked with their diff_ids
// checked, under the layer locks; tags are written last.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError, errnoCode } from '../errors';
import { layout } from '../paths';
import { mkdirp } from '../util/fs';
import { ownedName } from '../util/owner';
import { randomHex } from '../util/random';
import { parseDigest, sha256Digest } from './blobs';
import { parseImageConfig } from './config';
import { PIECE_BYTES, storeLayer } from './layer-fetch';
import { layerLock } from './locks';
import { storeLock } from './store-lock';
import { parseImageRef } from './reference';
import { MT, parseManifest, parsePlatform, selectPlatform } from './registry/manifest';
import { ImageStore } from './store';
import { TarEntry, TarReader, TarSink } from './tar-reader';
import { normaliseEntryPath } from './tar-entry-path';

export interface LoadedImage {
  id: string;
  tags: string[];
}

/** Extracts regular files (and records symlinks) of an archive below dir. */
class ArchiveExtractor implements TarSink {
  readonly files = new Set<string>();
  readonly links = new Map<string, string>();
  private fd = -1;
  constructor(private readonly dir: string) {}
  entry(e: TarEntry): void {
    const rel = normaliseEntryPath(e.path);
    if (rel === '') return;
    if (e.type === 'symlink' || e.type === 'hardlink') {
      const target = e.type === 'symlink' ? path.posix.join(path.posix.dirname(rel), e.linkpath) : e.linkpath;
      this.links.set(rel, normaliseEntryPath(target, e.path));
      return;
    }
    if (e.type !== 'file') return;
    const p = path.join(this.dir, rel);
    mkdirp(path.dirname(p));
    if (this.files.has(rel)) fs.rmSync(p, { force: true });
    this.fd = fs.openSync(
      p,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
    this.files.add(rel);
    if (e.size === 0) this.endEntry();
  }
  data(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
  }
  endEntry(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
  abort(): void {
    this.endEntry();
  }
  /** The extracted file for an archive path, following the archive's own links (a few hops). */
  resolve(name: string, what: string): string {
    let rel = normaliseEntryPath(name, what);
    for (let hops = 0; !this.files.has(rel); hops++) {
      const next = this.links.get(rel);
      if (next === undefined || hops > 8) throw new BoxError(`load: the archive has no file "${name}" (${what})`);
      rel = next;
    }
    return path.join(this.dir, rel);
  }
}

/** Size caps for the archive's metadata, as for a pull: manifests and indexes, image configs. */
const MANIFEST_MAX = 8 << 20;
const CONFIG_MAX = 32 << 20;

/** An extracted metadata file, refused beyond its cap (the archive decides how large it is). */
function readMeta(file: string, what: string, max: number): Buffer {
  if (fs.statSync(file).size > max) throw new BoxError(`load: ${what} is larger than ${max >> 20} MiB`);
  return fs.readFileSync(file);
}

const readJson = (file: string, what: string): unknown => {
  const bytes = readMeta(file, what, MANIFEST_MAX);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new BoxError(`load: ${what} is not valid JSON`);
  }
};

/** One image of docker save's manifest.json. */
interface ArchiveImage {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** docker save's manifest.json, checked field by field: a list of { Config, RepoTags, Layers }. */
function parseArchiveManifest(value: unknown): ArchiveImage[] {
  const bad = (what: string) =>
    new BoxError(`load: manifest.json ${what}: the archive is damaged or not a docker-archive`);
  if (!Array.isArray(value)) throw bad('is not a list of images');
  return value.map((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw bad(`entry ${i + 1} is not an object`);
    const { Config, RepoTags, Layers } = e as Record<string, unknown>;
    if (typeof Config !== 'string') throw bad(`entry ${i + 1}: "Config" is not a file name`);
    if (!isStringList(Layers)) throw bad(`entry ${i + 1}: "Layers" is not a list of file names`);
    if (RepoTags != null && !isStringList(RepoTags)) throw bad(`entry ${i + 1}: "RepoTags" is not a list of tags`);
    return { Config, Layers, RepoTags: RepoTags ?? [] };
  });
}

async function storeImage(
  store: ImageStore,
  configFile: string,
  layerFiles: string[],
  expectedId?: string,
): Promise<string> {
  const configBytes = readMeta(configFile, 'an image config', CONFIG_MAX);
  const id = sha256Digest(configBytes);
  if (expectedId && id !== expectedId)
    throw new BoxError(`load: config ${expectedId} failed verification: its content has digest ${id}`);
  const diffIds = parseImageConfig(configBytes, `load: image ${id}`).rootfs.diff_ids;
  if (diffIds.length !== layerFiles.length) {
    throw new BoxError(`load: image ${id} lists ${diffIds.length} diff_ids for ${layerFiles.length} layers`);
  }
  for (const [i, d] of diffIds.entries()) {
    parseDigest(d);
    if (store.hasLayer(d)) continue;
    const lock = await layerLock(store.roots, d);
    try {
      if (store.hasLayer(d)) continue;
      await storeLayer(store, fs.createReadStream(layerFiles[i], { highWaterMark: PIECE_BYTES }), {
        diffId: d,
        what: `load: layer ${d.slice(7, 19)}`,
      });
    } finally {
      lock.release();
    }
  }
  return store.putBlob(configBytes); // registered (and tagged) once every image of the archive is stored
}

/** Docker's familiar form: docker.io/library/x:1 -> x:1, docker.io/org/x:1 -> org/x:1. */
const familiar = (ref: string) =>
  parseImageRef(ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '')).full;

/** A tag from an OCI layout's annotations: a full reference, or none for a bare tag name. */
function ociTag(annotations: Record<string, string> | undefined): string | undefined {
  const full = annotations?.['io.containerd.image.name'];
  const ref = annotations?.['org.opencontainers.image.ref.name'];
  for (const c of [full, ref]) {
    if (typeof c !== 'string' || (!c.includes(':') && !c.includes('/'))) continue;
    try {
      return familiar(c);
    } catch {
      /* not a reference */
    }
  }
  return undefined;
}

/** Loads every image of the archive; returns them with the tags they got. */
export async function loadArchive(store: ImageStore, source: Readable): Promise<LoadedImage[]> {
  const gcLock = await storeLock(store.roots, 'shared');
  const work = makeWorkDir(store);
  try {
    const x = new ArchiveExtractor(work);
    const reader = new TarReader(x);
    try {
      await pipeline(
        source,
        new Writable({
          write(chunk: Buffer, _e, cb) {
            try {
              reader.write(chunk);
              cb();
            } catch (err) {
              cb(err as Error);
            }
          },
          final(cb) {
            try {
              reader.end();
              cb();
            } catch (err) {
              cb(err as Error);
            }
          },
        }),
      );
    } catch (err) {
      x.abort();
      throw err instanceof BoxError
        ? new BoxError(`load: ${err.message}`)
        : new BoxError(`load: cannot read the archive: ${(err as Error).message}`);
    }
    const loaded: LoadedImage[] = [];
    if (x.files.has('manifest.json')) {
      // docker-archive (also what Docker 25+ writes: its manifest.json points into blobs/sha256).
      const entries = parseArchiveManifest(readJson(path.join(work, 'manifest.json'), 'manifest.json'));
      for (const e of entries) {
        const tags = e.RepoTags.map(familiar);
        const id = await storeImage(
          store,
          x.resolve(e.Config, 'config'),
          e.Layers.map((l) => x.resolve(l, 'layer')),
        );
        loaded.push({ id, tags });
      }
    } else if (x.files.has('index.json') && x.files.has('oci-layout')) {
      const blob = (digest: string) => x.resolve(`blobs/sha256/${parseDigest(digest)}`, digest);
      const indexBytes = readMeta(path.join(work, 'index.json'), 'index.json', MANIFEST_MAX);
      const index = parseManifest(indexBytes, MT.ociIndex, 'load: index.json');
      if (index.kind !== 'index') throw new BoxError('load: index.json is not an image index');
      for (const d of index.manifests) {
        let body = readMeta(blob(d.digest), `manifest ${d.digest}`, MANIFEST_MAX);
        if (sha256Digest(body) !== d.digest) throw new BoxError(`load: manifest ${d.digest} failed verification`);
        let m = parseManifest(body, d.mediaType, `load: ${d.digest}`);
        if (m.kind === 'index') {
          const pick = selectPlatform(m, parsePlatform(), `load: ${d.digest}`);
          body = readMeta(blob(pick.digest), `manifest ${pick.digest}`, MANIFEST_MAX);
          if (sha256Digest(body) !== pick.digest)
            throw new BoxError(`load: manifest ${pick.digest} failed verification`);
          m = parseManifest(body, pick.mediaType, `load: ${pick.digest}`);
          if (m.kind !== 'manifest') throw new BoxError(`load: ${pick.digest} is an index inside an index`);
        }
        const tag = ociTag(d.annotations);
        const id = await storeImage(
          store,
          blob(m.config.digest),
          m.layers.map((l) => blob(l.digest)),
          m.config.digest,
        );
        loaded.push({ id, tags: tag ? [tag] : [] });
      }
    } else {
      throw new BoxError(
        'load: the archive is neither a docker-archive (no manifest.json) nor an OCI image layout (no index.json and oci-layout)',
      );
    }
    // All or nothing for the user: the images appear, with their tags, only once all are stored.
    for (const img of loaded) await store.registerImage(img.id);
    for (const img of loaded) for (const t of img.tags) store.tag(parseImageRef(t), img.id);
    return loaded;
  } finally {
    removeWorkDir(work);
    gcLock.release();
  }
}

/**
 * <root>/tmp/load-<pid>.<start>-<random>, for the archive's files (the token tells the store's
 * sweeper whether its load still runs). Its parent goes again with the last work dir in it (see
 * removeWorkDir), so a failed load leaves the store exactly as it was; a concurrent load that
 * removes the parent between our mkdirs makes us try again.
 */
function makeWorkDir(store: ImageStore): string {
  const work = path.join(layout.tmp(store.roots), ownedName('load', randomHex(8)));
  for (let attempt = 0; ; attempt++) {
    mkdirp(path.dirname(work));
    try {
      fs.mkdirSync(work, 0o700);
      return work;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= 10) throw err;
    }
  }
}

function removeWorkDir(work: string): void {
  fs.rmSync(work, { recursive: true, force: true });
  try {
    fs.rmdirSync(path.dirname(work));
  } catch {
    /* another process's work is in it, or it is gone already */
  }
}
