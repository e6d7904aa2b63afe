// `box push`: a local image, by its tag, to a registry (distribution API v2). Each layer's tar is
// reassembled from the store (tar-split.ts, so the config's diff_ids hold), gzip-compressed into a
// temporary file while its digest is computed, checked for with HEAD, and uploaded when the
// registry lacks it (POST for an upload session, then one PUT with the digest); then the config,
// then the OCI manifest under the tag. The digest and size of each compressed layer are kept in
// the layer's directory, so pushing again needs no compression for blobs the registry has.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { BoxError } from '../../errors';
import { layout } from '../../paths';
import { mkdirp, readJsonIfExists, tempNameFor, writeJsonAtomic } from '../../util/fs';
import { BlobStore, sha256Digest } from '../blobs';
import { storeLock } from '../store-lock';
import { OCI_CONFIG } from '../save';
import { ImageStore } from '../store';
import { layerTar } from '../tar-split';
import { Credentials } from './auth';
import { RegistryClient, RegistryError } from './client';
import { discard, HttpResponse } from './http';
import { MT } from './manifest';
import { formatRemoteRef, parseRemoteRef } from './reference';

export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export type PushEvent =
  | { type: 'resolved'; ref: string; layers: string[] }
  | { type: 'layer-exists'; diffId: string; digest: string }
  | { type: 'layer-pushing'; diffId: string; size: number }
  | { type: 'layer-pushed'; diffId: string; digest: string; size: number }
  | { type: 'done'; tag: string; digest: string; size: number };

export interface PushOptions {
  tlsVerify?: boolean;
  credentials?: Credentials;
  /** layers compressed and uploaded at the same time (default 3) */
  concurrency?: number;
  onEvent?: (e: PushEvent) => void;
  signal?: AbortSignal;
}

interface Blob {
  digest: string;
  size: number;
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);
const COMPRESSED_FILE = 'gzip.json';

/** Pushes the local image tagged `ref`; resolves to the manifest's digest and size. */
export async function pushImage(
  store: ImageStore,
  ref: string,
  opts: PushOptions = {},
): Promise<{ digest: string; size: number }> {
  const r = parseRemoteRef(ref);
  if (r.digest) throw new BoxError(`push: ${ref}: push a tag, not a digest`);
  const local = `${r.localName}:${r.tag}`;
  const id = store.resolve(local);
  if (!id || !store.hasImage(id))
    throw new BoxError(`push: no such image: ${local} (give it that name first: box tag IMAGE ${local})`);
  const name = formatRemoteRef(r);
  const emit = opts.onEvent ?? (() => undefined);
  // Shared: garbage collection leaves the layers alone while they are read.
  const lock = await storeLock(store.roots, 'shared');
  try {
    const rec = store.get(id);
    const diffIds = rec.config.rootfs.diff_ids;
    const client = new RegistryClient(r.host, {
      tlsVerify: opts.tlsVerify,
      credentials: opts.credentials,
      signal: opts.signal,
    });
    emit({ type: 'resolved', ref: name, layers: diffIds });

    const exists = async (digest: string): Promise<boolean> => {
      const res = await client.request(`/v2/${r.repository}/blobs/${digest}`, r.repository, {}, 'HEAD', { push: true });
      discard(res);
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      throw await client.failure(res, `${name}: checking for blob ${short(digest)}`);
    };
    const upload = async (blob: Blob, body: Buffer | (() => Readable), what: string): Promise<void> => {
      const start = await client.request(
        `/v2/${r.repository}/blobs/uploads/`,
        r.repository,
        { 'content-length': '0' },
        'POST',
        { push: true, body: Buffer.alloc(0) },
      );
      if (start.status !== 202) throw await client.failure(start, `${name}: starting the upload of ${what}`);
      discard(start);
      const location = header(start, 'location');
      if (!location)
        throw new RegistryError(
          `${name}: the registry started an upload without saying where to send it (no Location)`,
        );
      const url = new URL(location, 'http://placeholder');
      url.searchParams.set('digest', blob.digest);
      const target = /^[a-z]+:\/\//i.test(location) ? url.toString() : url.pathname + url.search;
      const put = await client.request(
        target,
        r.repository,
        { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        'PUT',
        { push: true, body },
      );
      if (put.status !== 201) throw await client.failure(put, `${name}: uploading ${what}`);
      discard(put);
    };

    // Layers, several at a time; each one's compressed digest is remembered with the layer.
    const tmpDir = layout.tmp(store.roots);
    mkdirp(tmpDir);
    const blobs = new Map<string, Blob>();
    const pushLayer = async (diffId: string) => {
      const what = `layer ${short(diffId)}`;
      const memo = path.join(store.layerDir(diffId), COMPRESSED_FILE);
      const known = readJsonIfExists<Blob>(memo);
      if (known && (await exists(known.digest))) {
        blobs.set(diffId, known);
        return emit({ type: 'layer-exists', diffId, digest: known.digest });
      }
      const tmp = tempNameFor(path.join(tmpDir, `push-${diffId.slice(7, 19)}.tar.gz`));
      try {
        const blob = await compress(store, diffId, tmp, `${name}: ${what}`);
        writeJsonAtomic(memo, blob);
        blobs.set(diffId, blob);
        if (await exists(blob.digest)) return emit({ type: 'layer-exists', diffId, digest: blob.digest });
        emit({ type: 'layer-pushing', diffId, size: blob.size });
        await upload(blob, () => fs.createReadStream(tmp), what);
        emit({ type: 'layer-pushed', diffId, digest: blob.digest, size: blob.size });
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    };
    const queue = [...new Set(diffIds)];
    let failed: unknown;
    const worker = async () => {
      for (let d = queue.shift(); d && !failed; d = queue.shift()) {
        try {
          await pushLayer(d);
        } catch (err) {
          failed ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 3, queue.length)) }, worker));
    if (failed) throw failed;

    // The config, then the manifest that names everything.
    const config = store.readBlob(id);
    const configBlob = { digest: id, size: config.length };
    if (!(await exists(id))) await upload(configBlob, config, 'the image config');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: OCI_CONFIG, digest: id, size: config.length },
        layers: diffIds.map((d) => ({
          mediaType: OCI_LAYER_GZIP,
          digest: blobs.get(d)!.digest,
          size: blobs.get(d)!.size,
        })),
      }),
    );
    const digest = sha256Digest(manifest);
    const put = await client.request(
      `/v2/${r.repository}/manifests/${r.tag}`,
      r.repository,
      { 'content-type': MT.ociManifest, 'content-length': String(manifest.length) },
      'PUT',
      { push: true, body: manifest },
    );
    if (put.status !== 201) throw await client.failure(put, `${name}: storing the manifest`);
    discard(put);
    const announced = header(put, 'docker-content-digest');
    if (announced && announced !== digest)
      throw new RegistryError(`${name}: the registry stored the manifest as ${announced}, box computed ${digest}`);
    // As after a pull: the image now has a digest in that repository.
    new BlobStore(layout.blobs(store.roots)).put(manifest, digest);
    await store.registerImage(id, { repoDigest: `${r.localName}@${digest}`, manifest: digest });
    emit({ type: 'done', tag: r.tag!, digest, size: manifest.length });
    return { digest, size: manifest.length };
  } finally {
    lock.release();
  }
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The layer's tar, gzip-compressed into `file`; its digest and size. */
async function compress(store: ImageStore, diffId: string, file: string, what: string): Promise<Blob> {
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.from(layerTar(store.layerDir(diffId), diffId, what)),
      createGzip({ level: 6 }),
      count,
      fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }),
    );
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`${what}: cannot compress the layer: ${(err as Error).message}`);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
