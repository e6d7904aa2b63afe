// A build step's layer: a list of entries (files read from a layer stack, directories made up,
// whiteouts) made into a tar whose pieces go straight into the store's layer unpacker
// (storeLayerPieces), so a built layer is stored, hashed and recorded with tar-split exactly like
// a pulled one.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { major, minor, typeOf } from '../image/export';
import { storeLayerPieces } from '../image/layer-fetch';
import { ImageStore } from '../image/store';
import { TAR_END, tarHeader, tarPadding, TarStream } from '../image/tar-writer';
import { O_NOFOLLOW, O_NONBLOCK, O_RDONLY } from '../linux/syscalls';
import { containerChanges, LayerStack } from '../runtime/diff';
import { mark } from '../util/trace';

export interface Owner {
  uid: number;
  gid: number;
}

/** One entry of a layer, at `to` (absolute, in the image). */
export type LayerEntry =
  | {
      to: string;
      kind: 'copy';
      stack: LayerStack;
      layer: number;
      rel: string;
      stat: fs.Stats;
      owner?: Owner;
      mode?: number;
      /** a small file's content, read already (by the cache key's pass): not read again */
      content?: Buffer;
    }
  | { to: string; kind: 'dir'; mode: number; uid: number; gid: number; mtime: number }
  | { to: string; kind: 'whiteout' };

/** The source file whose content the pieces are giving now: its name in the tar and its fd. */
interface OpenSource {
  name: string;
  fd: number;
}

/** Bytes of a file read at once into a piece of the tar. */
const READ_PIECE = 1 << 20;

/** A file's `size` bytes of content, read from fd in pieces (fresh buffers: a stream may keep them). */
function* fileContent(fd: number, size: number, name: string): Generator<Buffer> {
  let left = size;
  while (left > 0) {
    const buf = Buffer.allocUnsafe(Math.min(left, READ_PIECE));
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) throw new BoxError(`${name} shrank while being read (${size - left} of its ${size} bytes): try again`);
    left -= n;
    yield n === buf.length ? buf : buf.subarray(0, n);
  }
}

/**
 * The entries' tar archive, piece by piece in order (headers, contents, padding, the end marker),
 * its files read synchronously as the pieces are taken. A file that grew since it was listed
 * gives the size it was listed with; one that shrank is an error.
 */
export function* layerTarPieces(entries: LayerEntry[], reading?: OpenSource): Generator<Buffer> {
  const links = new Map<string, string>(); // dev:ino of files with several links -> first name
  for (const e of entries) {
    const name = e.to.replace(/^\/+/, '');
    if (e.kind === 'whiteout') {
      const wh = path.posix.join(path.posix.dirname(name), `.wh.${path.posix.basename(name)}`);
      yield tarHeader({ path: wh, type: 'file', mode: 0o600, size: 0 });
      continue;
    }
    if (e.kind === 'dir') {
      yield tarHeader({ path: name, type: 'dir', mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime });
      continue;
    }
    const st = e.stat;
    const type = typeOf(st);
    if (!type) continue; // a socket: not archived, as tar does
    const base = {
      path: name,
      mode: e.mode ?? st.mode & 0o7777,
      uid: e.owner?.uid ?? st.uid,
      gid: e.owner?.gid ?? st.gid,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
    if (type === 'dir') yield tarHeader({ ...base, type });
    else if (type === 'symlink') yield tarHeader({ ...base, type, linkpath: e.stack.readlink(e.layer, e.rel) });
    else if (type === 'file') {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        yield tarHeader({ ...base, type: 'hardlink', linkpath: first });
        continue;
      }
      if (st.nlink > 1) links.set(key, name);
      if (e.content) {
        yield tarHeader({ ...base, type, size: e.content.length });
        if (e.content.length) yield e.content;
        yield tarPadding(e.content.length);
        continue;
      }
      const fd = e.stack.open(e.layer, e.rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      try {
        const size = fs.fstatSync(fd).size;
        if (reading) {
          reading.name = name;
          reading.fd = fd;
        }
        yield tarHeader({ ...base, type, size });
        yield* fileContent(fd, size, e.to);
        yield tarPadding(size);
      } finally {
        if (reading) reading.fd = -1;
        fs.closeSync(fd);
      }
    } else yield tarHeader({ ...base, type, devmajor: major(st.rdev), devminor: minor(st.rdev) });
  }
  yield TAR_END;
}

/** Writes the entries as a tar archive to `out`, waiting whenever it is full. */
export async function writeLayerTar(entries: LayerEntry[], out: NodeJS.WritableStream): Promise<void> {
  const tar = new TarStream(out);
  for (const piece of layerTarPieces(entries)) if (piece.length) await tar.write(piece);
}

/** The diff_id the entries' tar would have: its sha256, with nothing written. */
function tarDigest(entries: LayerEntry[]): string {
  const hash = createHash('sha256');
  for (const piece of layerTarPieces(entries)) hash.update(piece);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Stores the entries as a layer; returns its diff_id (an existing identical layer is reused).
 * The tar's pieces go straight into the store's unpacker as they are made, with no stream in
 * between. With `hashFirst` the tar is hashed before anything is written, so a layer the store
 * already has is not unpacked file by file only to be found a duplicate and deleted: that cost a
 * --no-cache rebuild of a 5,000-file COPY 12 s. Hashing first costs a new layer one more read of
 * its files (about 15% more): the caller asks for it when a duplicate is likely.
 */
export async function storeEntries(
  store: ImageStore,
  entries: LayerEntry[],
  what: string,
  opts: {
    hashFirst?: boolean;
    /**
     * The sources' files become the layer's by a link instead of a copy: only for files nothing
     * writes to any more, and which go right after (a finished build step's upper directory)
     */
    linkSources?: boolean;
  } = {},
): Promise<string> {
  const diffId = opts.hashFirst ? tarDigest(entries) : undefined;
  if (diffId) mark('layer: hashed before storing');
  if (diffId && store.hasLayer(diffId)) return diffId;
  const reading: OpenSource = { name: '', fd: -1 };
  const contentFile = opts.linkSources
    ? (rel: string) => (reading.fd >= 0 && rel === reading.name ? reading.fd : undefined)
    : undefined;
  try {
    // a file that changed between the two passes is a digest mismatch, not a wrong layer
    const pieces = layerTarPieces(entries, reading);
    const layer = await storeLayerPieces(store, pieces, { what, diffId, contentFile });
    return layer.diffId;
  } catch (err) {
    throw err instanceof BoxError ? err : new BoxError(`${what}: ${(err as Error).message}`);
  }
}

/**
 * Stores what a container changed as a layer: its upper directory's changes against its image
 * layers (`lowerDirs`, topmost first), deletions as whiteouts; mount points are not changes.
 * `discarded`: the container is gone and its upper directory goes next (a build step), so its
 * files become the layer's by a link (written once, not twice); never for a container that lives on.
 */
export async function storeContainerChanges(
  store: ImageStore,
  upper: string,
  lowerDirs: string[],
  mountPoints: string[],
  what: string,
  discarded = false,
): Promise<string> {
  const changes = containerChanges(upper, lowerDirs, mountPoints);
  const stack = new LayerStack([upper]);
  try {
    const entries: LayerEntry[] = changes.map(([kind, p]) => {
      if (kind === 'D') return { to: p, kind: 'whiteout' };
      const rel = p.slice(1);
      const stat = stack.at(0, rel);
      if (!stat) throw new BoxError(`${what}: ${p} changed while being read: try again`);
      return { to: p, kind: 'copy', stack, layer: 0, rel, stat };
    });
    return await storeEntries(store, entries, what, { linkSources: discarded });
  } finally {
    stack.close();
  }
}
