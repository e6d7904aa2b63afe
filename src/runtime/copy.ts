// `box cp`: files and directories between the host and a container, in both directions.
//
// Inside a running container every path is resolved by the kernel with openat2 relative to a
// directory fd of /proc/PID/root, with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: absolute symlinks
// and ".." stay inside the container, and /proc magic links cannot jump out. Each entry is then
// created or opened relative to its parent's fd, by name, never following a symlink at the name.
// A stopped container is read through its layers merged like overlayfs (see diff.ts), and written
// into its writable layer, its parent directories copied up from the image first.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW_FLAG,
  fchownat,
  fsetxattr,
  mkdirat,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openat2,
  readlinkat,
  RESOLVE_BENEATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  symlinkat,
  Timespec,
  unlinkat,
  utimensatNoFollow,
} from '../linux/syscalls';
import { isWhiteout, LayerStack } from './diff';

/** A file tree box copies from or to; paths are absolute inside the tree. */
export interface Tree {
  lstat(p: string): fs.Stats | undefined;
  stat(p: string): fs.Stats | undefined;
  readdir(p: string): string[];
  /** Opens p for reading without following a symlink at p, and without blocking (a FIFO's open returns). */
  openRead(p: string): number;
  readlink(p: string): string;
  /** The parent directory of p (resolved inside the tree, created in a writable layer if needed) as an O_PATH fd. */
  parentForWrite(p: string): { fd: number; name: string; whiteout: boolean };
  close(): void;
}

const NAME_ONLY = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

const rel = (p: string) => {
  const r = path.posix.normalize('/' + p).replace(/^\/+/, '');
  return r === '' ? '.' : r;
};

function statOrUndefined(open: () => number): fs.Stats | undefined {
  let fd: number;
  try {
    fd = open();
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes(errnoCode(err) ?? '')) return undefined;
    throw err;
  }
  try {
    return fs.fstatSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function listFd(fd: number): string[] {
  try {
    return fs.readdirSync(`/proc/self/fd/${fd}`).sort();
  } finally {
    fs.closeSync(fd);
  }
}

/** A tree under a directory fd, resolved by the kernel: the host ("/", no restriction) or a running container's root. */
export class RootTree implements Tree {
  constructor(
    private readonly root: number,
    private readonly resolve: number,
  ) {}

  static host(): RootTree {
    return new RootTree(fs.openSync('/', O_PATH | O_DIRECTORY), 0);
  }

  static container(pid: number): RootTree {
    return new RootTree(
      fs.openSync(`/proc/${pid}/root`, O_PATH | O_DIRECTORY),
      RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    );
  }

  /** A host directory as a tree of its own (a volume, a bind source): nothing resolves out of it. */
  static beneath(dir: string): RootTree {
    const fd = openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    return new RootTree(fd, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  }

  private open(p: string, flags: number, mode = 0): number {
    return openat2(this.root, rel(p), flags, mode, this.resolve);
  }

  lstat(p: string) {
    return statOrUndefined(() => this.open(p, O_PATH | O_NOFOLLOW));
  }

  stat(p: string) {
    return statOrUndefined(() => this.open(p, O_PATH));
  }

  readdir(p: string) {
    return listFd(this.open(p, O_RDONLY | O_DIRECTORY));
  }

  openRead(p: string) {
    return this.open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  }

  readlink(p: string) {
    const fd = this.open(p, O_PATH | O_NOFOLLOW);
    try {
      return readlinkat(fd, '');
    } finally {
      fs.closeSync(fd);
    }
  }

  parentForWrite(p: string) {
    return {
      fd: this.open(path.posix.dirname(path.posix.normalize('/' + p)), O_PATH | O_DIRECTORY),
      name: path.posix.basename(p),
      whiteout: false,
    };
  }

  close() {
    fs.closeSync(this.root);
  }
}

/** A stopped container: its writable layer (index 0) over its image layers. */
export class LayerTree implements Tree {
  constructor(private readonly stack: LayerStack) {}

  private find(p: string, follow: boolean) {
    return this.stack.lookup(p, follow);
  }

  lstat(p: string) {
    return this.find(p, false)?.stat;
  }

  stat(p: string) {
    return this.find(p, true)?.stat;
  }

  readdir(p: string) {
    const f = this.find(p, true);
    if (!f?.stat.isDirectory()) throw new BoxError(`${p}: not a directory`);
    return this.stack.readdir(f);
  }

  openRead(p: string) {
    const f = this.find(p, false);
    if (!f) throw Object.assign(new Error(`${p}: not found`), { code: 'ENOENT' });
    return this.stack.open(f.layer, f.rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  }

  readlink(p: string) {
    const f = this.find(p, false);
    if (!f) throw Object.assign(new Error(`${p}: not found`), { code: 'ENOENT' });
    return this.stack.readlink(f.layer, f.rel);
  }

  /** Copies the directories of the resolved parent up into the writable layer (with the image's modes and owners). */
  parentForWrite(p: string) {
    const normalized = path.posix.normalize('/' + p);
    const parent = this.find(path.posix.dirname(normalized), true);
    if (!parent?.stat.isDirectory())
      throw Object.assign(new Error(`${path.posix.dirname(normalized)}: no such directory`), { code: 'ENOENT' });
    if (this.stack.rootFd(0) < 0) throw new BoxError('the container has no writable layer yet: start it once first');
    let cur = '.';
    for (const part of parent.rel === '.' ? [] : parent.rel.split('/')) {
      const next = cur === '.' ? part : `${cur}/${part}`;
      const up = this.stack.at(0, next);
      if (!up) {
        const image = this.find('/' + next, false)!.stat;
        const pfd = this.stack.open(0, cur, O_PATH | O_DIRECTORY);
        try {
          mkdirat(pfd, part, 0o700);
          fchownat(pfd, part, image.uid, image.gid, AT_SYMLINK_NOFOLLOW_FLAG);
          fs.chmodSync(`/proc/self/fd/${pfd}/${part}`, image.mode & 0o7777);
        } finally {
          fs.closeSync(pfd);
        }
      } else if (!up.isDirectory()) throw new BoxError(`/${next}: not a directory in the container's layer`);
      cur = next;
    }
    const fd = this.stack.open(0, cur, O_PATH | O_DIRECTORY);
    const name = path.posix.basename(normalized);
    const existing = this.stack.at(0, cur === '.' ? name : `${cur}/${name}`);
    return { fd, name, whiteout: existing !== undefined && isWhiteout(existing) };
  }

  close() {
    this.stack.close();
  }
}

/**
 * A stopped container with volumes or binds: a path at or below a mount's target is the mount's
 * own directory on the host (what the container sees there when it runs); the rest is `base`.
 */
export class MountedTree implements Tree {
  private readonly mounts: Array<{ target: string; tree: Tree }>;

  constructor(
    private readonly base: Tree,
    mounts: Array<{ target: string; tree: Tree }>,
  ) {
    this.mounts = [...mounts].sort((a, b) => b.target.length - a.target.length); // the innermost first
  }

  private route(p: string): { tree: Tree; p: string } {
    const n = path.posix.normalize('/' + p);
    const m = this.mounts.find((x) => n === x.target || n.startsWith(x.target + '/'));
    return m ? { tree: m.tree, p: n.slice(m.target.length) || '/' } : { tree: this.base, p: n };
  }

  lstat(p: string) {
    const r = this.route(p);
    return r.tree.lstat(r.p);
  }

  stat(p: string) {
    const r = this.route(p);
    return r.tree.stat(r.p);
  }

  readdir(p: string) {
    const r = this.route(p);
    return r.tree.readdir(r.p);
  }

  openRead(p: string) {
    const r = this.route(p);
    return r.tree.openRead(r.p);
  }

  readlink(p: string) {
    const r = this.route(p);
    return r.tree.readlink(r.p);
  }

  parentForWrite(p: string) {
    const n = path.posix.normalize('/' + p);
    const r = this.route(path.posix.dirname(n));
    return r.tree.parentForWrite(path.posix.join(r.p, path.posix.basename(n)));
  }

  close() {
    for (const m of this.mounts) m.tree.close();
    this.base.close();
  }
}

export interface CopyOptions {
  /** keep the source's owners (-a); otherwise `owner` */
  archive: boolean;
  /** follow a symlink given as the source (-L) */
  followLink: boolean;
  owner: { uid: number; gid: number };
  warn: (msg: string) => void;
}

const ts = (ms: bigint): Timespec => ({ sec: Number(ms / 1000000000n), nsec: Number(ms % 1000000000n) });

/** Replaces whatever non-directory is at parent/name (and a whiteout, which hides the image's entry). */
function clearName(pfd: number, name: string): fs.Stats | undefined {
  const st = statOrUndefined(() => openat2(pfd, name, O_PATH | O_NOFOLLOW, 0, NAME_ONLY));
  if (st && !st.isDirectory()) {
    unlinkat(pfd, name);
    return undefined;
  }
  return st;
}

class Copier {
  bytes = 0;
  constructor(
    private readonly src: Tree,
    private readonly dst: Tree,
    private readonly opts: CopyOptions,
  ) {}

  copy(s: string, d: string, top: boolean): void {
    const st = top && this.opts.followLink ? this.src.stat(s) : this.src.lstat(s);
    if (!st) throw Object.assign(new Error(`${s}: not found`), { code: 'ENOENT' });
    const { fd: pfd, name, whiteout } = this.dst.parentForWrite(d);
    const owner = this.opts.archive ? { uid: st.uid, gid: st.gid } : this.opts.owner;
    const atime = ts(BigInt(Math.round(st.atimeMs * 1e6)));
    const mtime = ts(BigInt(Math.round(st.mtimeMs * 1e6)));
    try {
      if (st.isDirectory()) {
        const existing = clearName(pfd, name);
        if (!existing) {
          mkdirat(pfd, name, 0o700);
          if (whiteout) {
            // The image had something here that was deleted: its old contents must stay hidden.
            const dfd = openat2(pfd, name, O_RDONLY | O_DIRECTORY, 0, NAME_ONLY);
            try {
              fsetxattr(dfd, 'trusted.overlay.opaque', Buffer.from('y'));
            } finally {
              fs.closeSync(dfd);
            }
          }
        }
        for (const child of this.src.readdir(s)) this.copy(path.posix.join(s, child), path.posix.join(d, child), false);
        const dfd = openat2(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, NAME_ONLY);
        try {
          fs.fchownSync(dfd, owner.uid, owner.gid);
          fs.fchmodSync(dfd, st.mode & 0o7777);
        } finally {
          fs.closeSync(dfd);
        }
        utimensatNoFollow(pfd, name, atime, mtime);
      } else if (st.isFile()) {
        if (clearName(pfd, name)) throw new BoxError(`cannot overwrite directory ${d} with a file`);
        const input = top && this.opts.followLink ? this.openFollowing(s) : this.src.openRead(s);
        try {
          // What was opened is checked, not only what was looked at: a running container can put a
          // FIFO or a device node in the file's place meanwhile, and box, outside the container's
          // device rules, would read it (a disk, /dev/zero) without end.
          const opened = fs.fstatSync(input);
          if (!opened.isFile()) {
            throw new BoxError(`cannot copy ${s}: it changed while being copied (no longer a regular file)`);
          }
          const out = openat2(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600, NAME_ONLY);
          try {
            const buf = Buffer.allocUnsafe(1 << 16);
            // The size when opened: a file that keeps growing is copied as it was, as docker cp's tar does.
            for (let left = opened.size; left > 0; ) {
              const n = fs.readSync(input, buf, 0, Math.min(buf.length, left), null);
              if (n === 0) break;
              for (let off = 0; off < n; ) off += fs.writeSync(out, buf, off, n - off);
              this.bytes += n;
              left -= n;
            }
            fs.fchownSync(out, owner.uid, owner.gid);
            fs.fchmodSync(out, st.mode & 0o7777);
            fs.futimesSync(out, Number(atime.sec) + atime.nsec / 1e9, Number(mtime.sec) + mtime.nsec / 1e9);
          } finally {
            fs.closeSync(out);
          }
        } finally {
          fs.closeSync(input);
        }
      } else if (st.isSymbolicLink()) {
        if (clearName(pfd, name)) throw new BoxError(`cannot overwrite directory ${d} with a symbolic link`);
        symlinkat(this.src.readlink(s), pfd, name);
        fchownat(pfd, name, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW_FLAG);
        utimensatNoFollow(pfd, name, atime, mtime);
      } else {
        this.opts.warn(`skipping ${s}: box cp copies files, directories and symbolic links only`);
      }
    } finally {
      fs.closeSync(pfd);
    }
  }

  /** -L: the source symlink's target, still resolved inside its tree. */
  private openFollowing(s: string): number {
    for (let hops = 0; hops < 40; hops++) {
      const st = this.src.lstat(s);
      if (!st?.isSymbolicLink()) return this.src.openRead(s);
      const target = this.src.readlink(s);
      s = target.startsWith('/') ? target : path.posix.join(path.posix.dirname(s), target);
    }
    throw new BoxError(`too many levels of symbolic links: ${s}`);
  }
}

/**
 * Copies src (in srcTree) to dst (in dstTree) with docker cp's rules: a file onto a file replaces
 * it; into a directory it keeps its name; a directory is created at dst if dst does not exist,
 * put inside dst if it does, and only its contents are copied when src ends with "/.".
 * Returns the number of bytes of file content copied.
 */
export function copyPath(
  srcTree: Tree,
  src: string,
  dstTree: Tree,
  dst: string,
  opts: CopyOptions,
  names: { src: string; dst: string },
): number {
  const st = opts.followLink ? srcTree.stat(src) : srcTree.lstat(src);
  if (!st) throw new BoxError(`could not find the file ${names.src}`);
  const srcDirSyntax = /\/\.?$/.test(src);
  if (srcDirSyntax && !srcTree.stat(src)?.isDirectory()) throw new BoxError(`${names.src}: not a directory`);
  const contentsOnly = /\/\.$/.test(src);
  const srcNorm = path.posix.normalize('/' + src);
  const dstNorm = path.posix.normalize('/' + dst);
  const dstSt = dstTree.stat(dst);
  const copier = new Copier(srcTree, dstTree, opts);
  const isDir = st.isDirectory() || (srcDirSyntax && srcTree.stat(src)?.isDirectory());
  if (!dstSt) {
    if (/\/$/.test(dst) && !isDir) throw new BoxError(`destination directory ${names.dst} does not exist`);
    const parent = dstTree.stat(path.posix.dirname(dstNorm));
    if (!parent?.isDirectory()) throw new BoxError(`the parent directory of ${names.dst} does not exist`);
    copier.copy(srcNorm, dstNorm, true);
  } else if (dstSt.isDirectory()) {
    if (isDir && contentsOnly) {
      for (const child of srcTree.readdir(srcNorm))
        copier.copy(path.posix.join(srcNorm, child), path.posix.join(dstNorm, child), false);
    } else {
      copier.copy(srcNorm, path.posix.join(dstNorm, path.posix.basename(srcNorm)), true);
    }
  } else {
    if (isDir) throw new BoxError(`cannot copy a directory to a file: ${names.dst}`);
    copier.copy(srcNorm, dstNorm, true);
  }
  return copier.bytes;
}

/** "CONTAINER:PATH" → its parts; a local path (absolute, ./relative, or without a colon) → undefined. */
export function splitContainerPath(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const colon = arg.indexOf(':');
  if (colon <= 0) return undefined;
  const container = arg.slice(0, colon);
  if (container.includes('/')) return undefined;
  return { container, path: arg.slice(colon + 1) };
}

/** An error from a path operation as one line for the user. */
export function describeCopyError(err: unknown, what: string): BoxError {
  if (err instanceof BoxError) return err;
  const code = errnoCode(err);
  if (code === 'ENOENT') return new BoxError(`could not find the file ${what}`);
  if (code === 'ELOOP' || code === 'EXDEV')
    return new BoxError(`${what}: the path leads out of the container (through a symbolic link or mount), refused`);
  if (code === 'ENOTDIR') return new BoxError(`${what}: a path component is not a directory`);
  return new BoxError(`${what}: ${code ?? (err as Error).message}`);
}
