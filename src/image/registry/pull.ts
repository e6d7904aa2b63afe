// `box pull`: resolve the reference to a manifest (choosing this machine's platform from an
// index), fetch and verify the config, then download the missing layers in parallel, each one
// streamed through digest check, decompression, unpacking and diff_id check in a single pass.
// Order of commits: layers (each atomic, under its lock), then manifest and config blobs, then
// the tag. A pull stopped at any point leaves at most complete layers that no image uses yet
// (the next pull reuses them), never a tag pointing at something missing.
import { BoxError } from '../../errors';
import { layout } from '../../paths';
import { BlobStore, parseDigest, sha256Digest, StagedBlob } from '../blobs';
import { zstdSupported, zstdUnsupported } from '../compression';
import { parseImageConfig } from '../config';
import { storeLayer } from '../layer-fetch';
import { LayerWorkers } from '../layer-workers';
import { layerLock } from '../locks';
import { storeLock } from '../store-lock';
import { parseImageRef } from '../reference';
import { ImageStore } from '../store';
import { Credentials } from './auth';
import { RegistryClient } from './client';
import {
  Descriptor,
  formatPlatform,
  ImageManifest,
  layerCompression,
  parseManifest,
  parsePlatform,
  platformMatches,
  selectPlatform,
} from './manifest';
import { formatRemoteRef, parseRemoteRef, RemoteRef } from './reference';
import { readBody } from './http';
import { mark } from '../../util/trace';

export type PullEvent =
  | { type: 'resolved'; ref: string; digest: string; platform: string; layers: { digest: string; size: number }[] }
  | { type: 'layer-exists'; digest: string }
  | { type: 'layer-waiting'; digest: string }
  | { type: 'layer-start'; digest: string; size: number }
  | { type: 'layer-progress'; digest: string; bytes: number; size: number }
  /** checked and unpacked; its commit (flush, rename) runs while the next layer downloads */
  | { type: 'layer-unpacked'; digest: string }
  | { type: 'layer-done'; digest: string; size: number }
  | { type: 'done'; id: string; digest: string };

export interface PullOptions {
  /** OS/ARCH[/VARIANT]; default: the running machine */
  platform?: string;
  /** false: http or unverified https (default true; loopback registries are always allowed http) */
  tlsVerify?: boolean;
  credentials?: Credentials;
  /** layers downloaded at the same time (default 3, as Docker) */
  concurrency?: number;
  /** threads that unpack layers (default: LayerWorkers.defaultCount(); 0: on this thread) */
  unpackThreads?: number;
  onEvent?: (e: PullEvent) => void;
  signal?: AbortSignal;
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

/** Pulls `ref` into the store and tags it; resolves to the image id ("sha256:<config digest>"). */
export async function pullImage(store: ImageStore, ref: string | RemoteRef, opts: PullOptions = {}): Promise<string> {
  // Held shared until the tag is written: garbage collection waits for it (see storeLock).
  const gcLock = await storeLock(store.roots, 'shared');
  try {
    return await pullLocked(store, ref, opts);
  } finally {
    gcLock.release();
  }
}

async function pullLocked(store: ImageStore, ref: string | RemoteRef, opts: PullOptions): Promise<string> {
  const r = typeof ref === 'string' ? parseRemoteRef(ref) : ref;
  const name = formatRemoteRef(r);
  const emit = opts.onEvent ?? (() => undefined);
  const client = new RegistryClient(r.host, {
    tlsVerify: opts.tlsVerify,
    credentials: opts.credentials,
    signal: opts.signal,
  });
  const blobs = new BlobStore(layout.blobs(store.roots));
  const want = parsePlatform(opts.platform);

  // 1. The manifest, through an index when the reference names one.
  const fetchManifest = async (reference: string, expected?: string) => {
    const m = await client.getManifest(r.repository, reference, name);
    const digest = sha256Digest(m.body);
    if (expected && digest !== expected)
      throw new BoxError(`${name}: the registry sent a manifest with digest ${digest} for ${expected}`);
    if (!expected && m.digestHeader && m.digestHeader.startsWith('sha256:') && m.digestHeader !== digest) {
      throw new BoxError(
        `${name}: the manifest's digest ${digest} differs from the one the registry announces (${m.digestHeader})`,
      );
    }
    return { ...m, digest, parsed: parseManifest(m.body, m.contentType, name) };
  };
  let top = await fetchManifest(r.digest ?? r.tag!, r.digest);
  let manifestBody = top.body;
  let manifestDigest = top.digest;
  let manifest: ImageManifest;
  const fromIndex = top.parsed.kind === 'index';
  if (top.parsed.kind === 'index') {
    const pick = selectPlatform(top.parsed, want, name);
    parseDigest(pick.digest);
    top = await fetchManifest(pick.digest, pick.digest);
    if (top.parsed.kind !== 'manifest')
      throw new BoxError(`${name}: the index for ${formatPlatform(want)} points at another index`);
    manifestBody = top.body;
    manifestDigest = top.digest;
  }
  manifest = top.parsed as ImageManifest;

  // 2. The config: small, read whole and verified.
  parseDigest(manifest.config.digest);
  let configBytes: Buffer;
  if (blobs.has(manifest.config.digest)) {
    configBytes = blobs.read(manifest.config.digest);
  } else {
    const res = await client.getBlob(
      r.repository,
      manifest.config.digest,
      `${name}: config ${short(manifest.config.digest)}`,
    );
    configBytes = await readBody(res, 32 * 1024 * 1024);
    const got = sha256Digest(configBytes);
    if (got !== manifest.config.digest)
      throw new BoxError(
        `${name}: config ${manifest.config.digest} failed verification: its content has digest ${got}`,
      );
  }
  const config = parseImageConfig(configBytes, name);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    const layers = manifest.layers.length;
    throw new BoxError(
      `${name}: the config lists ${diffIds.length} layer diff_ids for ${layers} layers in the manifest`,
    );
  }
  for (const d of [...diffIds, ...manifest.layers.map((l) => l.digest)]) parseDigest(d);
  // An image of one platform: asked for another with --platform, it would not run here.
  const have = { os: config.os, architecture: config.architecture, variant: (config as { variant?: string }).variant };
  if (opts.platform && !fromIndex && !platformMatches(have, want)) {
    throw new BoxError(
      `${name}: the image is for ${formatPlatform(have)}, not ${formatPlatform(want)} as --platform asks (it is not a multi-platform image)`,
    );
  }
  // Refused before any download: a zstd layer this runtime cannot decompress.
  const zstd = manifest.layers.find((l) => layerCompression(l, name) === 'zstd');
  if (zstd && !zstdSupported()) throw new BoxError(zstdUnsupported(`${name}: layer ${short(zstd.digest)}`));
  mark('pull: manifest and config read');
  emit({
    type: 'resolved',
    ref: name,
    digest: manifestDigest,
    platform: formatPlatform(want),
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })),
  });

  // 3. Layers, in parallel; the first failure stops the others.
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  opts.signal?.addEventListener('abort', onOuterAbort);
  /** `unpacked`: called once the layer is unpacked and checked, when its thread is free for the next */
  const fetchOne = async (layer: Descriptor, diffId: string, unpacked: () => void) => {
    if (store.hasLayer(diffId)) return emit({ type: 'layer-exists', digest: layer.digest });
    emit({ type: 'layer-waiting', digest: layer.digest });
    const lock = await layerLock(store.roots, diffId);
    try {
      if (store.hasLayer(diffId)) return emit({ type: 'layer-exists', digest: layer.digest }); // another pull stored it
      abort.signal.throwIfAborted();
      const what = `${name}: layer ${short(layer.digest)}`;
      const response = client.getBlob(r.repository, layer.digest, what);
      workers?.spawnSoon(); // the threads are made while the registry answers
      const res = await response;
      emit({ type: 'layer-start', digest: layer.digest, size: layer.size });
      let bytes = 0;
      await storeLayer(store, res.body, {
        workers,
        compressedDigest: layer.digest,
        compressedSize: layer.size,
        diffId,
        what,
        signal: abort.signal,
        onUnpacked: () => {
          emit({ type: 'layer-unpacked', digest: layer.digest });
          unpacked();
        },
        onBytes: (n) => {
          bytes += n;
          emit({ type: 'layer-progress', digest: layer.digest, bytes, size: layer.size });
        },
      });
      mark(`pull: layer ${short(layer.digest)} stored (downloaded, verified, unpacked)`);
      emit({ type: 'layer-done', digest: layer.digest, size: layer.size });
    } finally {
      lock.release();
    }
  };
  // The same layer may appear twice in one image: fetch each diff_id once.
  const jobs = new Map<string, Descriptor>();
  manifest.layers.forEach((l, i) => {
    if (!jobs.has(diffIds[i])) jobs.set(diffIds[i], l);
  });
  // What the store has is said at once, as Docker does, whatever order the others are fetched in.
  for (const [diffId, l] of jobs) {
    if (!store.hasLayer(diffId)) continue;
    emit({ type: 'layer-exists', digest: l.digest });
    jobs.delete(diffId);
  }
  // Largest first: the last layer to start is then a small one, and the threads finish together
  // instead of one of them unpacking a big layer alone at the end.
  const queue = [...jobs.entries()].sort((a, b) => b[1].size - a[1].size);
  const concurrency = Math.max(1, Math.min(opts.concurrency ?? 3, queue.length));
  // One thread per core unpacks while this one downloads (layer-workers.ts). With threads, a
  // layer is asked for only when a thread can take it: a response left waiting for one would
  // time out (60 s without a byte) behind a large layer.
  const threads = Math.min(concurrency, queue.length, opts.unpackThreads ?? LayerWorkers.defaultCount());
  const workers = LayerWorkers.start(threads);
  const runners = workers ? threads : concurrency;
  let firstError: unknown;
  const fail = (err: unknown) => {
    if (firstError) return;
    firstError = err;
    abort.abort();
  };
  /** every layer's whole store (download, unpack, commit), settled with failures passed to fail */
  const stored: Promise<void>[] = [];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      if (firstError) return;
      // The next layer starts once this one is unpacked: its commit (a syncfs, which may take tens
      // of ms, and a rename) overlaps the next download instead of leaving a thread idle.
      let unpacked!: () => void;
      const threadFree = new Promise<void>((resolve) => (unpacked = resolve));
      const done = fetchOne(job[1], job[0], unpacked).catch(fail);
      stored.push(done);
      await Promise.race([threadFree, done]);
    }
  };
  /** the manifest and config, written while the last layers are committed (the config blob is the image) */
  let staged: StagedBlob[] = [];
  try {
    await Promise.all(Array.from({ length: runners }, worker));
    // Every layer is unpacked (or failed) by now: the threads go, and the blobs are written and
    // flushed, while the last commits (a syncfs each) run.
    const closed = workers?.close();
    try {
      if (!firstError)
        staged = [blobs.stage(manifestBody, manifestDigest), blobs.stage(configBytes, manifest.config.digest)];
    } catch (err) {
      fail(err);
    }
    await Promise.all(stored);
    await closed;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    if (firstError || opts.signal?.aborted) for (const b of staged) b.discard();
  }
  if (firstError) throw firstError;
  if (opts.signal?.aborted) throw new BoxError(`${name}: interrupted`);
  mark('pull: layers stored, threads stopped');

  // 4. Blobs and tag: the image appears only now, complete.
  for (const b of staged) b.commit();
  const id = manifest.config.digest;
  await store.registerImage(id, { repoDigest: `${r.localName}@${manifestDigest}`, manifest: manifestDigest });
  if (r.tag) store.tag(parseImageRef(`${r.localName}:${r.tag}`), id);
  mark('pull: image recorded');
  emit({ type: 'done', id, digest: manifestDigest });
  return id;
}
