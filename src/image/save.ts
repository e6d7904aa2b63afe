// `box save`: images as one tarball that is both an OCI image layout (oci-layout, index.json,
// blobs/sha256/*) and a docker-archive (manifest.json and repositories pointing at the same
// blobs), as Docker 25+ writes it, so `docker load`, skopeo, umoci and `box load` all read it.
// Layers are written uncompressed, reassembled byte for byte from the store (tar-split.ts), so
// their digests are the image config's diff_ids and every image keeps its id.
import { BoxError } from '../errors';
import { sha256Digest } from './blobs';
import { storeLock } from './store-lock';
import { parseImageRef, qualifiedName } from './reference';
import { MT } from './registry/manifest';
import { ImageStore } from './store';
import { hasTarSplit, layerTar } from './tar-split';
import { TarStream } from './tar-writer';

export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

interface SavedImage {
  id: string;
  config: Buffer;
  diffIds: string[];
  manifest: Buffer;
  tags: string[];
}

/** The OCI image manifest of an image whose layers are its uncompressed tars. */
export function ociManifest(
  config: Buffer,
  diffIds: string[],
  layerSize: (d: string) => number,
  layerMediaType = OCI_LAYER_TAR,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: OCI_CONFIG, digest: sha256Digest(config), size: config.length },
      layers: diffIds.map((d) => ({ mediaType: layerMediaType, digest: d, size: layerSize(d) })),
    }),
  );
}

/** Which images the names give, with the tags that were named (an id names no tag). */
function collect(store: ImageStore, names: string[]): SavedImage[] {
  const byId = new Map<string, SavedImage>();
  for (const name of names) {
    const id = store.resolve(name);
    if (!id || !store.hasImage(id)) throw new BoxError(`save: no such image: ${name}`);
    let img = byId.get(id);
    if (!img) {
      const rec = store.get(id);
      const diffIds = rec.config.rootfs.diff_ids;
      for (const d of diffIds) {
        const what = `save: layer ${d.slice(7, 19)} of ${name}`;
        if (!store.hasLayer(d)) throw new BoxError(`${what} is missing from the store`);
        if (!hasTarSplit(store.layerDir(d)))
          throw new BoxError(
            `${what} was stored by an older box without its tar metadata: pull or load the image again`,
          );
      }
      const config = store.readBlob(id);
      img = { id, config, diffIds, manifest: ociManifest(config, diffIds, (d) => store.layerSizeOf(d)), tags: [] };
      byId.set(id, img);
    }
    try {
      const full = parseImageRef(name).full;
      if (store.get(id).tags.includes(full) && !img.tags.includes(full)) img.tags.push(full);
    } catch {
      /* an id, not a reference */
    }
  }
  return [...byId.values()];
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const blobPath = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

/** Writes the images `names` as one archive to `out` (not ended: the caller closes it). */
export async function saveImages(store: ImageStore, names: string[], out: NodeJS.WritableStream): Promise<void> {
  if (!names.length) throw new BoxError('save: name at least one image');
  // Shared: garbage collection waits until the layers are read.
  const lock = await storeLock(store.roots, 'shared');
  try {
    const images = collect(store, names);
    const index = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: images.flatMap((img) => {
        const desc = { mediaType: MT.ociManifest, digest: sha256Digest(img.manifest), size: img.manifest.length };
        if (!img.tags.length) return [desc];
        return img.tags.map((t) => ({
          ...desc,
          annotations: {
            'io.containerd.image.name': qualifiedName(t),
            'org.opencontainers.image.ref.name': parseImageRef(t).tag,
          },
        }));
      }),
    };
    const dockerManifest = images.map((img) => ({
      Config: blobPath(img.id),
      RepoTags: img.tags.length ? img.tags : null,
      Layers: img.diffIds.map(blobPath),
    }));
    const repositories: Record<string, Record<string, string>> = {};
    for (const img of images) {
      const top = img.diffIds[img.diffIds.length - 1];
      if (!top) continue;
      for (const t of img.tags) {
        const r = parseImageRef(t);
        (repositories[r.name] ??= {})[r.tag] = top.slice(7);
      }
    }
    const now = 0; // entries dated at the epoch: saving the same images twice gives the same bytes
    const tar = new TarStream(out);
    const file = (p: string, data: Buffer) =>
      tar.add({ path: p, type: 'file', mode: 0o644, size: data.length, mtime: now }, data);
    await tar.add({ path: 'blobs', type: 'dir', mode: 0o755, mtime: now });
    await tar.add({ path: 'blobs/sha256', type: 'dir', mode: 0o755, mtime: now });
    await file('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
    await file('index.json', json(index));
    await file('manifest.json', json(dockerManifest));
    if (Object.keys(repositories).length) await file('repositories', json(repositories));
    const written = new Set<string>();
    for (const img of images) {
      for (const [digest, data] of [
        [img.id, img.config],
        [sha256Digest(img.manifest), img.manifest],
      ] as const) {
        if (written.has(digest)) continue;
        written.add(digest);
        await file(blobPath(digest), data);
      }
      for (const d of img.diffIds) {
        if (written.has(d)) continue;
        written.add(d);
        await tar.add(
          { path: blobPath(d), type: 'file', mode: 0o644, size: store.layerSizeOf(d), mtime: now },
          layerTar(store.layerDir(d), d, `save: layer ${d.slice(7, 19)}`),
        );
      }
    }
    await tar.finish();
  } finally {
    lock.release();
  }
}
