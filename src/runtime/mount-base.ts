// The mount points every container gets, as one shared read-only overlay layer: the lowest lower
// dir of every container's root, below the image's layers. The helper mounts proc, a tmpfs, sysfs
// and the /etc files on these paths; without this layer it had to create each one the image lacks
// (and most small images lack some) in the container's fresh upper directory: a new inode per
// path per start, 0.3-0.9 ms of CPU each on ext4 without a journal. Docker's per-container "init
// layer" does the same job; one layer per storage root, made once, costs a start nothing.
//
// The image's layers lie above it, so the image's own files win; where an image shadows a path
// (its /etc a symlink, a whiteout) the helper still creates the mount point in the upper, as
// before. It is not an image layer: it lives in the root's cache (never collected, never a
// leak), is made by the first start that needs it in a temporary directory renamed into place,
// and a half-made one of a killed command carries its writer's token, so the store lock's cache
// sweep removes it (src/image/store-lock.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import * as sys from '../linux/syscalls';
import { layout, Roots } from '../paths';
import { ownedName } from '../util/owner';
import { randomHex } from '../util/random';
import { trustCacheDir } from '../util/trusted-path';

/** Every target box mounts in every container on a path of its own (plan.ts buildSpec). */
export const MOUNT_BASE_ENTRIES: readonly [string, 'dir' | 'file'][] = [
  ['proc', 'dir'],
  ['dev', 'dir'],
  ['sys', 'dir'],
  ['etc', 'dir'],
  ['etc/hostname', 'file'],
  ['etc/hosts', 'file'],
  ['etc/resolv.conf', 'file'],
];

const STRICT = sys.RESOLVE_BENEATH | sys.RESOLVE_NO_SYMLINKS | sys.RESOLVE_NO_MAGICLINKS;

/**
 * The layer's directory (an overlay lower dir), made if missing and checked: every component from
 * the storage root down is a plain directory (no link the kernel would follow at mount time) and
 * every entry has its type, owned by root and writable by nobody else.
 */
export function mountBase(roots: Roots): string {
  const diff = path.join(layout.mountBase(roots), 'diff');
  if (checkMountBase(roots, diff)) return diff;
  build(roots);
  if (!checkMountBase(roots, diff)) throw damaged(roots, 'it was removed while being made');
  return diff;
}

/** True if the layer is there and sound, false if missing; throws if anything else is there. */
function checkMountBase(roots: Roots, diff: string): boolean {
  const rootFd = fs.openSync(roots.root, sys.O_PATH | sys.O_DIRECTORY);
  let diffFd: number;
  try {
    diffFd = sys.openat2(rootFd, path.relative(roots.root, diff), sys.O_PATH | sys.O_NOFOLLOW, 0, STRICT);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    if (errnoCode(err) === 'ELOOP' || errnoCode(err) === 'EXDEV') throw damaged(roots, 'a symbolic link on its path');
    if (errnoCode(err) === 'ENOTDIR') throw damaged(roots, 'a file where a directory belongs');
    throw err;
  } finally {
    fs.closeSync(rootFd);
  }
  try {
    checkEntry(roots, diffFd, '.', 'dir');
    for (const [rel, type] of MOUNT_BASE_ENTRIES) checkEntry(roots, diffFd, rel, type);
  } finally {
    fs.closeSync(diffFd);
  }
  return true;
}

function checkEntry(roots: Roots, diffFd: number, rel: string, type: 'dir' | 'file'): void {
  let fd: number;
  try {
    fd = sys.openat2(diffFd, rel, sys.O_PATH | sys.O_NOFOLLOW, 0, STRICT);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EXDEV')
      throw damaged(roots, `its ${rel} is missing or behind a link`);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!(type === 'dir' ? st.isDirectory() : st.isFile()))
      throw damaged(roots, `its ${rel} is not a ${type === 'dir' ? 'directory' : 'regular file'}`);
    if (st.uid !== 0 || st.mode & 0o022) throw damaged(roots, `its ${rel} is not root's alone`);
  } finally {
    fs.closeSync(fd);
  }
}

function damaged(roots: Roots, why: string): BoxError {
  const dir = layout.mountBase(roots);
  return new BoxError(
    `${dir} is not the mount-point layer box makes (${why}): remove it (rm -rf ${dir}), box makes it again`,
  );
}

/**
 * Makes the layer in a temporary directory beside it and renames it into place. Two first starts
 * at once both make one; the rename of the second fails (the name holds a non-empty directory)
 * and it removes its own, using the first's.
 */
function build(roots: Roots): void {
  const final = layout.mountBase(roots);
  trustCacheDir(layout.cache(roots)); // root's alone, no link: made if missing
  // the writer's token in the name: the cache sweep removes it if this command is killed half-way
  const tmp = path.join(path.dirname(final), ownedName(`${path.basename(final)}.tmp`, randomHex(6)));
  try {
    fs.mkdirSync(tmp, { mode: 0o700 });
    fs.chmodSync(tmp, 0o700); // exactly, whatever the umask: the parent of what containers see
    const diff = path.join(tmp, 'diff');
    fs.mkdirSync(diff);
    fs.chmodSync(diff, 0o755);
    for (const [rel, type] of MOUNT_BASE_ENTRIES) {
      const p = path.join(diff, rel);
      if (type === 'dir') fs.mkdirSync(p);
      else fs.closeSync(fs.openSync(p, 'wx'));
      fs.chmodSync(p, type === 'dir' ? 0o755 : 0o644); // as the helper made them in the upper
    }
    fs.renameSync(tmp, final);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!['ENOTEMPTY', 'EEXIST'].includes(errnoCode(err) ?? '')) throw err;
  }
}
