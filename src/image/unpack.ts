// Unpacks an image layer (an uncompressed tar stream) into a fresh, empty directory, computing its
// diff_id (sha256 of the tar stream) in the same pass.
//
// Confinement: the layer directory is new and private to this unpack, so every file in it was
// created by this code, and the unpacker keeps a model of the tree it made (path -> kind). A path
// is written only if each of its parents is, in that model, a real directory this unpack created;
// a parent that is a symlink (or any non-directory) is refused, never followed. Leaf files are
// created with O_CREAT|O_EXCL|O_NOFOLLOW and directories with mkdir, which fail rather than follow
// anything unexpected. Names are normalised: a leading "/" is stripped (as Docker does) and any
// ".." component is refused. Hardlink targets go through the same checks and must be a
// non-directory created earlier in this layer.
//
// Overlay conventions: ".wh.NAME" becomes a whiteout (a 0:0 character device) named NAME, and
// ".wh..wh..opq" marks its directory opaque (trusted.overlay.opaque=y). Overlay's own attributes
// (trusted.overlay.* and, for overlays mounted with userxattr, user.overlay.*) that an image's
// entries carry are dropped, as containers/storage does: a redirect, metacopy or opaque attribute
// from an image would make overlayfs look elsewhere than the layer says. They stay in the
// tar-split record, which is the original archive.
//
// Everything runs synchronously on the calling thread, entry by entry as the bytes arrive (a pull
// runs it on a layer worker thread, layer-worker.ts): the file-system calls here are page-cache
// writes and metadata updates, which cost less than handing each one to libuv's threads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, Hash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode } from '../errors';
import {
  flistxattr,
  fremovexattr,
  fsetxattr,
  futimens,
  linkFd,
  lsetxattr,
  lutimens,
  mknod,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
} from '../linux/syscalls';
import { TarEntry, TarReader, TarSink, TarTime } from './tar-reader';
import { normaliseEntryPath, UnpackRefusedError } from './tar-entry-path';
import { TarSplitRecorder } from './tar-split';

export interface UnpackOptions {
  /** Apply uid/gid from the archive (default: when running as root). */
  preserveOwner?: boolean;
  /** What to do with device nodes when mknod is not permitted: 'error' (default as root) or 'skip'. */
  devices?: 'error' | 'skip';
  /** Record the tar stream's metadata in this (new) file, so the layer's tar can be reassembled (tar-split.ts). */
  tarSplit?: string;
  /**
   * A tree of plain files, not a layer (a build context): `.wh.` names are ordinary files and a
   * device node is refused. Confinement is the same.
   */
  plainFiles?: boolean;
  /**
   * The content of a file entry, already on this file system: an open fd of a file holding exactly
   * the entry's data (a build step's upper directory, removed right after). The entry becomes a
   * new name of that file instead of a copy (its data is not written again); its owner, mode and
   * times are then set from the entry and the attributes the entry lacks are removed.
   */
  contentFile?: (rel: string) => number | undefined;
}

export interface UnpackResult {
  /** "sha256:<hex>" of the uncompressed tar stream */
  diffId: string;
  /** bytes of the uncompressed tar stream */
  size: number;
  entries: number;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
const enum Kind {
  Dir = 1,
  File = 2,
  Symlink = 3,
  Other = 4,
}

interface DirMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: TarTime;
  atime: TarTime;
}

const O_WRITE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW; // libuv adds O_CLOEXEC itself

/** overlayfs's own extended attributes, which only the unpacker itself may set (for whiteouts). */
const isOverlayAttribute = (name: string) => name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');

const parentOf = (rel: string) => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};

/** The tar sink that writes entries below root. */
class LayerWriter implements TarSink {
  private readonly tree = new Map<string, Kind>([['', Kind.Dir]]);
  /** directory -> the paths directly in it (keys of tree), so a directory is forgotten without a scan */
  private readonly children = new Map<string, Set<string>>();
  private readonly dirs = new Map<string, DirMeta>();
  private fd = -1;
  private fdPath = '';
  /** the current file entry's fd when it was linked (contentFile), not created: the caller's to close */
  private linked = -1;
  private readonly contentFile?: (rel: string) => number | undefined;
  private readonly preserveOwner: boolean;
  private readonly skipDevices: boolean;
  private readonly myUid: number;
  private readonly myGid: number;
  private readonly rootSetgid: boolean;
  private readonly plainFiles: boolean;
  entries = 0;
  skipped: string[] = [];

  constructor(
    private readonly root: string,
    opts: UnpackOptions,
  ) {
    this.myUid = process.geteuid?.() ?? 0;
    this.myGid = process.getegid?.() ?? 0;
    this.preserveOwner = opts.preserveOwner ?? this.myUid === 0;
    this.skipDevices = (opts.devices ?? (this.myUid === 0 ? 'error' : 'skip')) === 'skip';
    this.rootSetgid = (fs.statSync(root).mode & 0o2000) !== 0;
    this.plainFiles = opts.plainFiles ?? false;
    this.contentFile = opts.contentFile;
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : this.root + '/' + rel;
  }

  /** Makes sure rel's parent is a directory of this layer, creating missing ones (0755). */
  private ensureParent(rel: string, entry: string): void {
    const parent = parentOf(rel);
    const kind = this.tree.get(parent);
    if (kind === Kind.Dir) return;
    if (kind === Kind.Symlink)
      throw new UnpackRefusedError(entry, `"${parent}" is a symlink in this layer and is not followed`);
    if (kind !== undefined) throw new UnpackRefusedError(entry, `"${parent}" is not a directory`);
    this.ensureParent(parent, entry);
    fs.mkdirSync(this.abs(parent), 0o755);
    this.put(parent, Kind.Dir);
  }

  /** Removes whatever this layer has at rel, so a later entry replaces an earlier one. */
  private clear(rel: string, keepDir: boolean): void {
    const kind = this.tree.get(rel);
    if (kind === undefined) return;
    if (kind === Kind.Dir) {
      if (keepDir) return;
      if (rel === '') throw new UnpackRefusedError('/', 'the layer root cannot be replaced');
      fs.rmSync(this.abs(rel), { recursive: true, force: true });
    } else {
      fs.unlinkSync(this.abs(rel));
    }
    this.forget(rel);
  }

  /** Records what this layer has at rel, and that its parent directory holds it. */
  private put(rel: string, kind: Kind): void {
    this.tree.set(rel, kind);
    const parent = parentOf(rel);
    let names = this.children.get(parent);
    if (!names) this.children.set(parent, (names = new Set()));
    names.add(rel);
  }

  /**
   * Forgets rel and, for a directory, everything below it: work in proportion to what goes, so
   * a layer that replaces a directory again and again is not quadratic in its size.
   */
  private forget(rel: string): void {
    if (this.tree.get(rel) === Kind.Dir) {
      for (const child of this.children.get(rel) ?? []) this.forget(child);
      this.children.delete(rel);
      this.dirs.delete(rel);
    }
    this.tree.delete(rel);
    this.children.get(parentOf(rel))?.delete(rel);
  }

  private chown(p: string, uid: number, gid: number, fd = -1, made = true): void {
    if (!this.preserveOwner) return;
    if (made && uid === this.myUid && gid === this.myGid && !this.rootSetgid) return; // created with these already
    if (fd >= 0) fs.fchownSync(fd, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }

  private xattrs(e: TarEntry, p: string, fd = -1): void {
    for (const [name, value] of e.xattrs) {
      if (isOverlayAttribute(name)) continue;
      try {
        if (fd >= 0) fsetxattr(fd, name, value);
        else lsetxattr(p, name, value);
      } catch (err) {
        // Attributes a file system cannot hold (user.* on a symlink) are dropped, as tar does.
        const code = errnoCode(err);
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || (code === 'EPERM' && !name.startsWith('security.')))
          continue;
        throw err;
      }
    }
  }

  entry(e: TarEntry): void {
    this.entries++;
    const rel = normaliseEntryPath(e.path, e.path);
    const base = rel.slice(rel.lastIndexOf('/') + 1);

    if (base.startsWith(WHITEOUT_PREFIX) && !this.plainFiles) {
      this.whiteout(e, rel, base);
      return;
    }
    if (rel === '') {
      if (e.type !== 'dir') throw new UnpackRefusedError(e.path, 'only a directory can describe the layer root');
      this.dirs.set('', this.dirMeta(e));
      this.xattrs(e, this.root);
      return;
    }
    this.ensureParent(rel, e.path);
    const p = this.abs(rel);
    switch (e.type) {
      case 'dir': {
        this.clear(rel, true);
        if (!this.tree.has(rel)) {
          fs.mkdirSync(p, 0o700);
          this.put(rel, Kind.Dir);
        }
        this.dirs.set(rel, this.dirMeta(e));
        this.xattrs(e, p);
        return;
      }
      case 'file': {
        this.clear(rel, false);
        const from = this.contentFile?.(rel);
        if (from !== undefined && this.link(from, p, e)) {
          this.linked = from;
          this.fdPath = p;
          this.put(rel, Kind.File);
          if (e.size === 0) this.endEntry(e);
          return;
        }
        this.fd = fs.openSync(p, O_WRITE_NEW, 0o600);
        this.fdPath = p;
        this.put(rel, Kind.File);
        if (e.size === 0) this.endEntry(e);
        return;
      }
      case 'symlink': {
        this.clear(rel, false);
        fs.symlinkSync(e.linkpath, p);
        this.put(rel, Kind.Symlink);
        this.chown(p, e.uid, e.gid);
        this.xattrs(e, p);
        lutimens(p, e.atime ?? e.mtime, e.mtime);
        return;
      }
      case 'hardlink': {
        const target = normaliseEntryPath(e.linkpath, e.path);
        const kind = this.tree.get(target);
        if (kind === undefined) {
          throw new UnpackRefusedError(
            e.path,
            `its hardlink target "${e.linkpath}" is not an earlier entry of this layer`,
          );
        }
        if (kind === Kind.Dir)
          throw new UnpackRefusedError(e.path, `its hardlink target "${e.linkpath}" is a directory`);
        if (target === rel) return; // a link to itself: nothing to do
        this.clear(rel, false);
        // link(2) does not follow a symlink target: the link is to the symlink itself.
        fs.linkSync(this.abs(target), p);
        this.put(rel, kind);
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (this.plainFiles && e.type !== 'fifo')
          throw new UnpackRefusedError(e.path, 'a device node has no place among plain files');
        this.clear(rel, false);
        const type = e.type === 'char' ? S_IFCHR : e.type === 'block' ? S_IFBLK : S_IFIFO;
        try {
          mknod(p, type | (e.mode & 0o777), e.devmajor, e.devminor);
        } catch (err) {
          if (e.type !== 'fifo' && errnoCode(err) === 'EPERM') {
            if (!this.skipDevices)
              throw new UnpackRefusedError(e.path, 'creating a device node is not permitted here (no CAP_MKNOD)');
            this.skipped.push(e.path);
            return;
          }
          throw err;
        }
        this.put(rel, Kind.Other);
        this.chown(p, e.uid, e.gid);
        fs.chmodSync(p, e.mode); // mknod applied the umask
        this.xattrs(e, p);
        lutimens(p, e.atime ?? e.mtime, e.mtime);
        return;
      }
    }
  }

  private dirMeta(e: TarEntry): DirMeta {
    return { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, atime: e.atime ?? e.mtime };
  }

  private whiteout(e: TarEntry, rel: string, base: string): void {
    const dir = parentOf(rel);
    if (dir !== '') {
      this.ensureParent(rel, e.path);
    }
    if (base === OPAQUE) {
      lsetxattr(this.abs(dir), 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    if (base.startsWith('.wh..wh.')) return; // aufs metadata (.wh..wh.plnk, ...): not for overlay
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new UnpackRefusedError(e.path, 'invalid whiteout name');
    const target = dir === '' ? name : `${dir}/${name}`;
    this.clear(target, false);
    const p = this.abs(target);
    mknod(p, S_IFCHR | 0o000, 0, 0);
    this.put(target, Kind.Other);
    this.chown(p, e.uid, e.gid);
  }

  data(chunk: Buffer): void {
    if (this.fd < 0) return; // the data of a whiteout marker (or of a skipped entry) is dropped
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
  }

  /**
   * A new name at p for the file open as fd (contentFile), like O_EXCL never replacing anything,
   * with only the entry's extended attributes (the file had its own: overlay's, the step's). False
   * when that cannot be (another file system, no CAP_DAC_READ_SEARCH, an attribute that stays):
   * the entry is written then.
   */
  private link(fd: number, p: string, e: TarEntry): boolean {
    try {
      linkFd(fd, p);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EXDEV' || code === 'ENOENT' || code === 'EPERM' || code === 'EMLINK') return false;
      throw err;
    }
    try {
      for (const name of flistxattr(fd)) if (!e.xattrs.has(name)) fremovexattr(fd, name);
      return true;
    } catch {
      fs.unlinkSync(p);
      return false;
    }
  }

  endEntry(e: TarEntry): void {
    if (e.type !== 'file') return;
    if (this.linked >= 0) {
      const fd = this.linked;
      this.linked = -1;
      this.fileMeta(e, fd, false);
      return;
    }
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      this.fileMeta(e, fd, true);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A file's owner, mode, attributes and times from its entry; `made`: this unpack created it. */
  private fileMeta(e: TarEntry, fd: number, made: boolean): void {
    this.chown(this.fdPath, e.uid, e.gid, fd, made);
    // After chown, which clears setuid/setgid, and before the attributes (security.capability
    // would be cleared by a chown, too).
    fs.fchmodSync(fd, e.mode);
    if (e.xattrs.size) this.xattrs(e, this.fdPath, fd);
    futimens(fd, e.atime ?? e.mtime, e.mtime);
  }

  /** Directory modes, owners and times last, deepest first, once nothing is created inside them. */
  finish(): void {
    const rels = [...this.dirs.keys()].reverse();
    for (const rel of rels) {
      const m = this.dirs.get(rel)!;
      const p = this.abs(rel);
      if (this.preserveOwner) fs.lchownSync(p, m.uid, m.gid);
      fs.chmodSync(p, m.mode);
      lutimens(p, m.atime, m.mtime);
    }
  }

  abort(): void {
    this.linked = -1;
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * An uncompressed tar stream into files, synchronously: write() the bytes in pieces of any size as
 * they come (each is hashed for the diff_id and parsed), then finish(). Whatever is thrown leaves
 * nothing open (the caller discards the directory). A layer worker feeds it directly;
 * LayerUnpacker wraps it as a Writable.
 */
export class LayerSink {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private readonly writer: LayerWriter;
  private readonly reader: TarReader;
  private readonly split?: TarSplitRecorder;

  constructor(dir: string, opts: UnpackOptions = {}) {
    this.writer = new LayerWriter(path.resolve(dir), opts);
    const split = opts.tarSplit ? new TarSplitRecorder(opts.tarSplit) : undefined;
    this.split = split;
    const w = this.writer;
    const sink: TarSink = split
      ? {
          entry: (e) => {
            split.entry(e);
            w.entry(e);
          },
          data: (c) => {
            split.data(c);
            w.data(c);
          },
          endEntry: (e) => {
            split.endEntry();
            w.endEntry(e);
          },
          raw: (b) => split.raw(b),
        }
      : w;
    this.reader = new TarReader(sink);
  }

  /** Takes the next piece of the stream; it is not kept after this returns (it may be reused). */
  write(chunk: Buffer): void {
    try {
      this.hash.update(chunk);
      this.bytes += chunk.length;
      this.reader.write(chunk);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  /** The stream has ended: directory metadata last, the tar-split record completed. */
  finish(): UnpackResult {
    try {
      this.reader.end();
      this.writer.finish();
      this.split?.finish();
    } catch (err) {
      this.abort();
      throw err;
    }
    return { diffId: `sha256:${this.hash.digest('hex')}`, size: this.bytes, entries: this.writer.entries };
  }

  /** Closes what is open; idempotent. */
  abort(): void {
    this.writer.abort();
    this.split?.abort();
  }

  /** Device entries skipped because mknod was not permitted (unprivileged unpacking). */
  get skippedDevices(): string[] {
    return this.writer.skipped;
  }
}

/** A Writable taking an uncompressed tar stream; `result` is set once it finished. */
export class LayerUnpacker extends Writable {
  private readonly sink: LayerSink;
  result?: UnpackResult;

  constructor(dir: string, opts: UnpackOptions = {}) {
    super({ highWaterMark: 1 << 20 });
    this.sink = new LayerSink(dir, opts);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    try {
      for (const { chunk } of chunks) this.sink.write(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.result = this.sink.finish();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.sink.abort();
    cb(err);
  }

  /** Device entries skipped because mknod was not permitted (unprivileged unpacking). */
  get skippedDevices(): string[] {
    return this.sink.skippedDevices;
  }
}

/**
 * Unpacks the uncompressed tar stream `source` into `dir`, which must exist and be empty. On
 * failure the directory is left as it is: the caller discards it.
 */
export async function unpackLayer(source: Readable, dir: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const u = new LayerUnpacker(dir, opts);
  await pipeline(source, u);
  return u.result!;
}
