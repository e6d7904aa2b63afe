// File-system syscalls Node's fs module lacks, through koffi: mknod (devices, fifos, overlay
// whiteouts), extended attributes, flock and syncfs. Each binding is created on first use.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { koffi, libc } from './ffi';

/** An errno-carrying error shaped like Node's fs errors (err.code is "EPERM", ...). */
export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path?: string,
  ) {
    const code = errnoName(errno);
    super(`${syscall}${path !== undefined ? ` ${path}` : ''}: ${code} (${errno})`);
    this.code = code;
  }
  readonly code: string;
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return `E${errno}`;
}

function fail(syscall: string, path?: string): never {
  throw new SyscallError(syscall, koffi().errno(), path);
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** The kernel's dev_t encoding (glibc's makedev). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

type MknodFn = (path: string, mode: number, dev: bigint) => number;
type SetxattrFn = (path: string, name: string, value: Buffer, size: number, flags: number) => number;
type FsetxattrFn = (fd: number, name: string, value: Buffer, size: number, flags: number) => number;
type GetxattrFn = (path: string, name: string, value: Buffer | null, size: number) => number | bigint;
type ListxattrFn = (path: string, list: Buffer | null, size: number) => number | bigint;
type UtimensatFn = (dirfd: number, path: string, times: Buffer, flags: number) => number;
type FutimensFn = (fd: number, times: Buffer) => number;
type FlockFn = ((fd: number, op: number) => number) & {
  async: (fd: number, op: number, cb: (err: unknown, res: number) => void) => void;
};
type SyncfsFn = ((fd: number) => number) & {
  async: (fd: number, cb: (err: unknown, res: number) => void) => void;
};

let fns:
  | {
      mknod: MknodFn;
      lsetxattr: SetxattrFn;
      fsetxattr: FsetxattrFn;
      lgetxattr: GetxattrFn;
      llistxattr: ListxattrFn;
      flock: FlockFn;
      utimensat: UtimensatFn;
      futimens: FutimensFn;
      syncfs: SyncfsFn;
    }
  | undefined;

function bindings() {
  if (fns) return fns;
  const lib = libc();
  fns = {
    mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)') as MknodFn,
    lsetxattr: lib.func(
      'int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)',
    ) as SetxattrFn,
    fsetxattr: lib.func(
      'int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)',
    ) as FsetxattrFn,
    lgetxattr: lib.func(
      'intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)',
    ) as GetxattrFn,
    llistxattr: lib.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)') as ListxattrFn,
    flock: lib.func('int flock(int fd, int op)') as FlockFn,
    utimensat: lib.func('int utimensat(int dirfd, const char *path, const void *times, int flags)') as UtimensatFn,
    futimens: lib.func('int futimens(int fd, const void *times)') as FutimensFn,
    syncfs: lib.func('int syncfs(int fd)') as SyncfsFn,
  };
  return fns;
}

/** mknod(2): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and permission bits. */
export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  if (bindings().mknod(path, mode, makedev(major, minor)) !== 0) fail('mknod', path);
}

/** lsetxattr(2): never follows a symlink at path. */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  if (bindings().lsetxattr(path, name, value, value.length, 0) !== 0) fail(`lsetxattr ${name}`, path);
}

export function fsetxattr(fd: number, name: string, value: Buffer): void {
  if (bindings().fsetxattr(fd, name, value, value.length, 0) !== 0) fail(`fsetxattr ${name}`);
}

/** lgetxattr(2); undefined when the attribute is absent. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const b = bindings();
  const size = Number(b.lgetxattr(path, name, null, 0));
  if (size < 0) {
    const errno = koffi().errno();
    if (errno === os.constants.errno.ENODATA) return undefined;
    throw new SyscallError(`lgetxattr ${name}`, errno, path);
  }
  const buf = Buffer.alloc(size);
  const got = Number(b.lgetxattr(path, name, buf, size));
  if (got < 0) fail(`lgetxattr ${name}`, path);
  return buf.subarray(0, got);
}

/** llistxattr(2): the names of a file's extended attributes (not following symlinks). */
export function llistxattr(path: string): string[] {
  const b = bindings();
  const size = Number(b.llistxattr(path, null, 0));
  if (size < 0) fail('llistxattr', path);
  if (size === 0) return [];
  const buf = Buffer.alloc(size);
  const got = Number(b.llistxattr(path, buf, size));
  if (got < 0) fail('llistxattr', path);
  return buf.subarray(0, got).toString('latin1').split('\0').filter(Boolean);
}

/** A time with nanosecond precision (what file systems store; a JS number cannot hold it). */
export interface Timespec {
  sec: number;
  nsec: number;
}

function timesBuffer(atime: Timespec, mtime: Timespec): Buffer {
  const b = Buffer.allocUnsafe(32);
  b.writeBigInt64LE(BigInt(atime.sec), 0);
  b.writeBigInt64LE(BigInt(atime.nsec), 8);
  b.writeBigInt64LE(BigInt(mtime.sec), 16);
  b.writeBigInt64LE(BigInt(mtime.nsec), 24);
  return b;
}

export const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

/** utimensat(2) with AT_SYMLINK_NOFOLLOW: sets a symlink's own times, never its target's. */
export function lutimens(path: string, atime: Timespec, mtime: Timespec): void {
  if (bindings().utimensat(AT_FDCWD, path, timesBuffer(atime, mtime), AT_SYMLINK_NOFOLLOW) !== 0)
    fail('utimensat', path);
}

export function futimens(fd: number, atime: Timespec, mtime: Timespec): void {
  if (bindings().futimens(fd, timesBuffer(atime, mtime)) !== 0) fail('futimens');
}

/**
 * syncfs(2): writes out every dirty page and inode of the file system that holds path, waiting on
 * one of libuv's worker threads: the event loop keeps feeding the other layers of a pull meanwhile.
 */
export function syncfs(path: string): Promise<void> {
  const f = bindings().syncfs;
  const fd = fs.openSync(path, 'r');
  return new Promise<void>((resolve, reject) => {
    f.async(fd, (err, res) => {
      fs.closeSync(fd);
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      // errno is thread-local: the worker thread's value is not visible here.
      if (res !== 0) return reject(new Error(`syncfs ${path} failed`));
      resolve();
    });
  });
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2), waiting on one of libuv's worker threads so the event loop keeps running. */
export function flockAsync(fd: number, op: number): Promise<void> {
  const f = bindings().flock;
  return new Promise((resolve, reject) => {
    f.async(fd, op, (err, res) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      // errno is thread-local: the worker thread's value is not visible here.
      if (res !== 0) return reject(new Error(`flock(${fd}, ${op}) failed`));
      resolve();
    });
  });
}

/**
 * flock(2) waiting on this thread: only for locks held over a few system calls (a mount), on a
 * path that cannot wait asynchronously.
 */
export function flockBlocking(fd: number, op: number): void {
  while (bindings().flock(fd, op) !== 0) {
    if (koffi().errno() !== os.constants.errno.EINTR) fail('flock');
  }
}

/** flock(2) without blocking (LOCK_NB is added); false when another holder has it. */
export function tryFlock(fd: number, op: number): boolean {
  if (bindings().flock(fd, op | LOCK_NB) === 0) return true;
  const errno = koffi().errno();
  if (errno === os.constants.errno.EWOULDBLOCK) return false;
  throw new SyscallError('flock', errno);
}

// --- Path resolution confined to a directory (box cp): openat2(2) and the *at calls that act on
// one name inside an already-resolved directory fd, so no path is ever resolved twice.

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;
export const AT_SYMLINK_NOFOLLOW_FLAG = AT_SYMLINK_NOFOLLOW;

const SYS_OPENAT2 = 437; // the same number on every architecture (unified syscall table)

type SyscallFn = (nr: number, ...args: unknown[]) => number | bigint;
type MkdiratFn = (dirfd: number, path: string, mode: number) => number;
type SymlinkatFn = (target: string, dirfd: number, path: string) => number;
type UnlinkatFn = (dirfd: number, path: string, flags: number) => number;
type FchownatFn = (dirfd: number, path: string, uid: number, gid: number, flags: number) => number;
type ReadlinkatFn = (dirfd: number, path: string, buf: Buffer, size: number) => number | bigint;
type LinkatFn = (olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number;
type FlistxattrFn = (fd: number, list: Buffer | null, size: number) => number | bigint;
type FremovexattrFn = (fd: number, name: string) => number;
type Dup2Fn = (oldfd: number, newfd: number) => number;

let atFns:
  | {
      syscall: SyscallFn;
      mkdirat: MkdiratFn;
      symlinkat: SymlinkatFn;
      unlinkat: UnlinkatFn;
      fchownat: FchownatFn;
      readlinkat: ReadlinkatFn;
      linkat: LinkatFn;
      flistxattr: FlistxattrFn;
      fremovexattr: FremovexattrFn;
      dup2: Dup2Fn;
    }
  | undefined;

function atBindings() {
  if (atFns) return atFns;
  const lib = libc();
  atFns = {
    syscall: lib.func('long syscall(long number, ...)') as SyscallFn,
    mkdirat: lib.func('int mkdirat(int dirfd, const char *path, uint32_t mode)') as MkdiratFn,
    symlinkat: lib.func('int symlinkat(const char *target, int dirfd, const char *path)') as SymlinkatFn,
    unlinkat: lib.func('int unlinkat(int dirfd, const char *path, int flags)') as UnlinkatFn,
    fchownat: lib.func(
      'int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)',
    ) as FchownatFn,
    readlinkat: lib.func(
      'intptr_t readlinkat(int dirfd, const char *path, _Out_ void *buf, size_t size)',
    ) as ReadlinkatFn,
    linkat: lib.func(
      'int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)',
    ) as LinkatFn,
    flistxattr: lib.func('intptr_t flistxattr(int fd, _Out_ void *list, size_t size)') as FlistxattrFn,
    fremovexattr: lib.func('int fremovexattr(int fd, const char *name)') as FremovexattrFn,
    dup2: lib.func('int dup2(int oldfd, int newfd)') as Dup2Fn,
  };
  return atFns;
}

/** dup2(2): `newfd` becomes a copy of `oldfd` (what it was is closed). */
export function dup2(oldfd: number, newfd: number): void {
  if (atBindings().dup2(oldfd, newfd) < 0) fail('dup2');
}

/**
 * openat2(2): opens `path` relative to `dirfd` with RESOLVE_* restrictions (e.g. RESOLVE_IN_ROOT:
 * absolute symlinks and ".." are confined to dirfd). Returns the new fd (O_CLOEXEC is added).
 */
export function openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  const fd = Number(atBindings().syscall(SYS_OPENAT2, 'int', dirfd, 'str', path, 'void *', how, 'size_t', how.length));
  if (fd < 0) fail('openat2', path);
  return fd;
}

/**
 * linkat(2) with AT_EMPTY_PATH: a new name, `path` (never replacing anything there), for the file
 * open as fd, however it was reached. Needs CAP_DAC_READ_SEARCH (root has it).
 */
export function linkFd(fd: number, path: string): void {
  if (atBindings().linkat(fd, '', AT_FDCWD, path, AT_EMPTY_PATH) !== 0) fail('linkat', path);
}

/** flistxattr(2): the names of the extended attributes of the file open as fd. */
export function flistxattr(fd: number): string[] {
  const b = atBindings();
  const size = Number(b.flistxattr(fd, null, 0));
  if (size < 0) fail('flistxattr');
  if (size === 0) return [];
  const buf = Buffer.alloc(size);
  const got = Number(b.flistxattr(fd, buf, size));
  if (got < 0) fail('flistxattr');
  return buf.subarray(0, got).toString('latin1').split('\0').filter(Boolean);
}

export function fremovexattr(fd: number, name: string): void {
  if (atBindings().fremovexattr(fd, name) !== 0) fail(`fremovexattr ${name}`);
}

export function mkdirat(dirfd: number, name: string, mode: number): void {
  if (atBindings().mkdirat(dirfd, name, mode) !== 0) fail('mkdirat', name);
}

export function symlinkat(target: string, dirfd: number, name: string): void {
  if (atBindings().symlinkat(target, dirfd, name) !== 0) fail('symlinkat', name);
}

export function unlinkat(dirfd: number, name: string, flags = 0): void {
  if (atBindings().unlinkat(dirfd, name, flags) !== 0) fail('unlinkat', name);
}

/** fchownat(2); with AT_SYMLINK_NOFOLLOW a symlink's own owner changes, never its target's. */
export function fchownat(dirfd: number, name: string, uid: number, gid: number, flags: number): void {
  if (atBindings().fchownat(dirfd, name, uid, gid, flags) !== 0) fail('fchownat', name);
}

/** readlinkat(2); name "" reads the symlink an O_PATH|O_NOFOLLOW fd refers to. */
export function readlinkat(dirfd: number, name: string): string {
  const buf = Buffer.alloc(4096);
  const n = Number(atBindings().readlinkat(dirfd, name, buf, buf.length));
  if (n < 0) fail('readlinkat', name);
  return buf.subarray(0, n).toString('utf8');
}

/** utimensat(2) relative to a directory fd, never following a symlink at name. */
export function utimensatNoFollow(dirfd: number, name: string, atime: Timespec, mtime: Timespec): void {
  if (bindings().utimensat(dirfd, name, timesBuffer(atime, mtime), AT_SYMLINK_NOFOLLOW) !== 0) fail('utimensat', name);
}

const SYS_PIDFD_OPEN = 434; // unified syscall table
const SYS_PIDFD_SEND_SIGNAL = 424;

/** pidfd_open(2): a file descriptor that refers to this very process, never to a later holder of its pid. */
export function pidfdOpen(pid: number): number {
  const fd = Number(atBindings().syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', 0));
  if (fd < 0) fail('pidfd_open', String(pid));
  return fd;
}

/** pidfd_send_signal(2) with a signal number. */
export function pidfdSendSignal(fd: number, signal: number): void {
  if (
    Number(atBindings().syscall(SYS_PIDFD_SEND_SIGNAL, 'int', fd, 'int', signal, 'void *', null, 'unsigned int', 0)) !==
    0
  )
    fail('pidfd_send_signal');
}

/** MNT_DETACH: the mount leaves the tree now, and goes once nothing uses it. */
export const MNT_DETACH = 2;

let umount2Fn: ((target: string, flags: number) => number) | undefined;

/** umount2(2) of the mount at `target` (a shared tmpfs volume's, `box system check --fix` of a stray mount). */
export function umount2(target: string, flags = 0): void {
  umount2Fn ??= libc().func('int umount2(const char *target, int flags)') as (target: string, flags: number) => number;
  if (umount2Fn(target, flags) !== 0) fail('umount2', target);
}

type MountFn = (source: string, target: string, fstype: string, flags: number, data: string) => number;
let mountFn: MountFn | undefined;

/** mount(2) of a new file system (a shared tmpfs volume's, on the host: src/volume/shared-tmpfs.ts). */
export function mountFs(source: string, target: string, fstype: string, flags: number, data: string): void {
  mountFn ??= libc().func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  ) as MountFn;
  if (mountFn(source, target, fstype, flags, data) !== 0) fail('mount', target);
}
