// How box touches its own store without being turned against the host. A storage or runtime root
// is trusted only if root owns it and nobody else can write it or the directories above it; older,
// looser stores are tightened to root-only modes when first opened. Files in the store are opened
// without following a symlink at their last component (O_NOFOLLOW), and directories the kernel is
// about to mount (a container's dir, upper and work) are resolved with openat2 RESOLVE_NO_SYMLINKS
// beneath the root, so a link planted in the store never points box's writes at the host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import * as sys from '../linux/syscalls';
import { layout, Roots } from '../paths';
import { noteRoot } from './root-identity';
import { octal, unsafeAncestor } from './trusted-path';

const { O_APPEND, O_CREAT, O_NOFOLLOW, O_RDONLY, O_WRONLY } = fs.constants;

/** The refusal for a symlink found where box expects a file or directory of its own. */
export function linkInStore(file: string): BoxError {
  return new BoxError(
    `${file} is a symbolic link where box keeps its own file: box never follows links in its store; remove it`,
  );
}

/** open(2) with O_NOFOLLOW and an exact mode for a new file; a symlink at `file` is refused. */
export function openNoFollow(file: string, flags: number, mode = 0o600): number {
  try {
    return fs.openSync(file, flags | O_NOFOLLOW, mode);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') throw linkInStore(file);
    // O_PATH|O_NOFOLLOW opens the link itself, which O_DIRECTORY then refuses as ENOTDIR
    if (errnoCode(err) === 'ENOTDIR' && fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw linkInStore(file);
    }
    throw err;
  }
}

/** The whole content of a store file, never read through a symlink. */
export function readNoFollow(file: string): Buffer {
  const fd = openNoFollow(file, O_RDONLY);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Opens `file` to append, creating it 0600, never through a symlink; with `dirMode`, a missing
 * directory of it is made first (with that mode). The directory is made only when the open finds
 * it missing: making it before every append cost a mkdir and a stat.
 */
export function openToAppend(file: string, dirMode?: number): number {
  try {
    return openNoFollow(file, O_WRONLY | O_APPEND | O_CREAT, 0o600);
  } catch (err) {
    if (dirMode === undefined || errnoCode(err) !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: dirMode });
    return openNoFollow(file, O_WRONLY | O_APPEND | O_CREAT, 0o600);
  }
}

/**
 * Appends `text` with one write(2) on an O_APPEND descriptor (concurrent writers never interleave
 * within it), creating the file 0600 (and its directory, with `dirMode`: see openToAppend); never
 * through a symlink.
 */
export function appendNoFollow(file: string, text: string, dirMode?: number): void {
  const fd = openToAppend(file, dirMode);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Makes `dir` (a path inside `base`) a directory with `mode` if it is missing, and checks that no
 * component between `base` and it is a symlink and that it is a directory: what is checked is
 * what the kernel will mount. Loads koffi (openat2); used on the container start path only.
 */
export function plainDirBeneath(base: string, dir: string, mode: number): void {
  const rel = path.relative(base, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${dir} is not inside ${base}`);
  const baseFd = fs.openSync(base, sys.O_PATH | sys.O_DIRECTORY);
  try {
    const parentFd = openDirBeneath(baseFd, path.dirname(rel), dir);
    try {
      try {
        sys.mkdirat(parentFd, path.basename(rel), mode);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      fs.closeSync(openDirBeneath(parentFd, path.basename(rel), dir));
    } finally {
      fs.closeSync(parentFd);
    }
  } finally {
    fs.closeSync(baseFd);
  }
}

function openDirBeneath(dirFd: number, rel: string, what: string): number {
  const resolve = sys.RESOLVE_BENEATH | sys.RESOLVE_NO_SYMLINKS | sys.RESOLVE_NO_MAGICLINKS;
  try {
    // No O_NOFOLLOW: a symlink at the end must fail as one (ELOOP), not as a non-directory.
    return sys.openat2(dirFd, rel, sys.O_PATH | sys.O_DIRECTORY, 0, resolve);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP' || errnoCode(err) === 'EXDEV') throw linkInStore(what);
    if (errnoCode(err) === 'ENOTDIR') {
      throw new BoxError(`${what} is not a directory: the container's files are damaged; remove the container`);
    }
    throw err;
  }
}

// --- Trusting a root

const checked = new Set<string>();

/** Directories directly under the roots that box creates: tightened to 0700 when found looser. */
function storeDirs(roots: Roots): string[] {
  return [
    path.dirname(layout.blobs(roots)),
    layout.blobs(roots),
    layout.layers(roots),
    layout.links(roots),
    layout.images(roots),
    layout.repositories(roots),
    layout.containers(roots),
    layout.names(roots),
    layout.tmp(roots),
    layout.cache(roots),
    layout.volumes(roots),
    layout.runContainers(roots),
    layout.locks(roots),
  ];
}

/** Files directly under the roots that an older box created world-readable. */
function storeFiles(roots: Roots): string[] {
  return [path.join(roots.root, 'policy-audit.jsonl'), path.join(roots.runroot, 'events.jsonl')];
}

/**
 * Refuses a root that exists and is not owned by root, or is writable by group or others (its
 * owner, or anyone, could swap what box mounts and writes), or lies in a directory another user
 * could rename it out of; tightens an older store (the roots, their top-level directories and
 * logs) to root-only modes. A missing root is left to be created (0700) by the first write.
 * Cheap: a few dozen stat calls, once per process and pair of roots; no walk of the store.
 */
export function trustRoots(roots: Roots): void {
  const key = `${roots.root}\0${roots.runroot}`;
  if (checked.has(key)) return;
  noteRoot(roots); // its identity now: host objects are made only while it stays (root-identity.ts)
  trustRoot(roots.root, 'storage root', '--root');
  trustRoot(roots.runroot, 'runtime root', '--runroot');
  for (const dir of storeDirs(roots)) tighten(dir, 0o700, true);
  for (const file of storeFiles(roots)) tighten(file, 0o600, false);
  checked.add(key);
}

/**
 * One root of box's (the storage root, the runtime root, box-runc's OCI root): refused unless
 * root's and writable by nobody else, in directories only root can change; tightened to 0700.
 * `what` and `flag` name it in the refusal ("OCI root", "--root").
 */
export function trustRoot(dir: string, what: string, flag: string): void {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) {
    trustAncestors(dir, dir, what, flag); // it will be made in them
    return;
  }
  if (!st.isDirectory()) throw new BoxError(`the ${what} ${dir} is not a directory: choose another ${flag}`);
  if (st.uid !== 0) {
    const fix = `chown it to root or choose another ${flag}`;
    const owner = `is owned by uid ${st.uid}, not root: box trusts only a root-owned store`;
    throw new BoxError(`the ${what} ${dir} ${owner}; ${fix}`);
  }
  const perm = st.mode & 0o7777;
  if (perm & 0o022) {
    const fix = `chmod 700 it or choose another ${flag}`;
    throw new BoxError(`the ${what} ${dir} has mode ${octal(perm)}, writable by group or others: ${fix}`);
  }
  // Whoever may rename entries of a directory above the root can swap the root itself: both the
  // path given and the one it resolves to must lie in directories only root can change.
  trustAncestors(dir, dir, what, flag);
  const real = fs.realpathSync.native(dir);
  if (real !== dir) trustAncestors(real, dir, what, flag);
  if (perm & 0o077 && process.getuid?.() === 0) fs.chmodSync(dir, 0o700);
}

/**
 * The existing directories above `dir` are root's and writable by nobody else, or sticky (as
 * /tmp: others cannot rename root's entries there).
 */
function trustAncestors(dir: string, shown: string, what: string, flag: string): void {
  const why = unsafeAncestor(dir);
  if (why) throw new BoxError(`the ${what} ${shown} ${why}, who could swap the store: choose another ${flag}`);
}

/** chmod to `mode` when group or others have any access; a symlink or a missing entry is left alone. */
function tighten(p: string, mode: number, dir: boolean): void {
  if (process.getuid?.() !== 0) return; // only root can, and only root's commands use the store
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return;
  if ((dir ? st.isDirectory() : st.isFile()) && st.mode & 0o077) fs.chmodSync(p, mode);
}
