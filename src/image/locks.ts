// Cross-process locks: flock(2) on a file under the runtime root. The kernel releases a lock when
// its holder exits, however it exits, so a killed pull never blocks the next one. A live holder
// can still be stuck: waits that a user sits through are bounded (lockFileWithin, lockHolder).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors';
import { flockAsync, flockBlocking, LOCK_EX, LOCK_SH, tryFlock } from '../linux/syscalls';
import { lockPaths, Roots } from '../paths';
import { mkdirp } from '../util/fs';
import { openNoFollow } from '../util/safe-open';

export interface Lock {
  release(): void;
}

/**
 * openFlags of a lock on a directory (flock works on any open file): a lock kept on a directory
 * that exists anyway, such as a container's, costs no file of its own.
 */
export const DIRECTORY_LOCK = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY;

/**
 * This process's exclusive waits, one queue per file: only the first waiter blocks a thread-pool
 * thread in flock, the others wait for their turn here. libuv has four threads: `compose up`
 * starting twenty containers in one process had four flocks waiting on one file (the nftables
 * ruleset's) take them all, and the holder, which needed a thread to go on, never released it.
 */
const exclusiveWaits = new Map<string, Promise<void>>();

/**
 * Waits for a lock on `file` (created if missing; exclusive unless `op` says otherwise) without
 * blocking the event loop. `onSlow` is called once if the wait goes past `slowMs`: for a lock
 * whose holders may rightly keep it long, the caller tells the user what it waits for.
 * `deletable`: a holder may delete the file (see lockDeletableFile); the lock counts only if the
 * file locked is still the one at `file`, else it is taken again.
 */
export async function lockFile(
  file: string,
  op: number = LOCK_EX,
  onSlow?: () => void,
  slowMs = 10_000,
  deletable = false,
): Promise<Lock> {
  const slow = onSlow ? setTimeout(onSlow, slowMs) : undefined;
  if (op !== LOCK_EX) {
    try {
      return await flockFile(file, op);
    } finally {
      clearTimeout(slow);
    }
  }
  const before = exclusiveWaits.get(file);
  let endTurn!: () => void;
  const turn = new Promise<void>((resolve) => (endTurn = resolve));
  const queued = (before ?? Promise.resolve()).then(() => turn);
  exclusiveWaits.set(file, queued);
  try {
    await before;
    return await flockFile(file, op, deletable);
  } finally {
    clearTimeout(slow);
    // the next waiter may block a thread now: this one holds the lock (or gave up)
    endTurn();
    if (exclusiveWaits.get(file) === queued) exclusiveWaits.delete(file);
  }
}

async function flockFile(file: string, op: number, deletable = false): Promise<Lock> {
  for (;;) {
    mkdirp(path.dirname(file), 0o700);
    const fd = openNoFollow(file, fs.constants.O_RDWR | fs.constants.O_CREAT);
    try {
      // Uncontended (the usual case), the lock is taken at once, without starting the thread pool
      // that a waiting flock runs on.
      if (!tryFlock(fd, op)) await flockAsync(fd, op);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (!deletable || isFileAt(fd, file)) return heldLock(fd);
    fs.closeSync(fd); // deleted by its holder: the lock of a file nobody else will lock
  }
}

/**
 * An exclusive lock on `file` (created if missing), waiting on this thread: only for locks that
 * every holder keeps over a few system calls, on a path that cannot wait asynchronously.
 */
export function lockFileBlocking(file: string): Lock {
  return heldLock(openLockedBlocking(file));
}

/** `file` (and its directory) created if missing, opened and locked exclusively, waiting on this thread. */
function openLockedBlocking(file: string): number {
  mkdirp(path.dirname(file), 0o700);
  const fd = openNoFollow(file, fs.constants.O_RDWR | fs.constants.O_CREAT);
  try {
    flockBlocking(fd, LOCK_EX);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/**
 * lockFileBlocking for a lock file that a holder may delete (see lockDeletableFile, deleteLockFile):
 * the lock counts only if the file locked is still the one at `file`, else it is taken again.
 */
export function lockDeletableFileBlocking(file: string): Lock {
  for (;;) {
    const fd = openLockedBlocking(file);
    if (isFileAt(fd, file)) return heldLock(fd);
    fs.closeSync(fd);
  }
}

/**
 * Deletes a deletable lock file (see lockDeletableFileBlocking) while holding its lock, waiting for
 * a holder first: whoever opened it meanwhile finds it gone once it has the lock, and takes a new one.
 */
export function deleteLockFile(file: string): void {
  let fd: number;
  try {
    fd = openNoFollow(file, fs.constants.O_RDWR);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    flockBlocking(fd, LOCK_EX);
    if (isFileAt(fd, file)) fs.unlinkSync(file); // else a newer one is there, someone else's
  } finally {
    fs.closeSync(fd);
  }
}

/** The lock on `file` if nobody holds it now; undefined otherwise. Never waits. */
export function tryLockFile(file: string): Lock | undefined {
  mkdirp(path.dirname(file), 0o700);
  const fd = openNoFollow(file, fs.constants.O_RDWR | fs.constants.O_CREAT);
  let ok = false;
  try {
    ok = tryFlock(fd, LOCK_EX);
  } finally {
    if (!ok) fs.closeSync(fd);
  }
  return ok ? heldLock(fd) : undefined;
}

/**
 * Like lockFile, for a lock file that a holder may delete (a container's, once the container is
 * gone): the lock counts only if the file locked is still the one at `file`, else it is taken
 * again, so a deleted file's lock is never mistaken for the current one. Without `create`, only
 * an existing file is locked: 'absent' when there is none. openFlags: DIRECTORY_LOCK for a directory.
 */
export async function lockDeletableFile(
  file: string,
  create: boolean,
  timeoutMs = Infinity,
  openFlags = fs.constants.O_RDWR,
): Promise<Lock | 'absent' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (create) mkdirp(path.dirname(file), 0o700);
    let fd: number;
    try {
      fd = openNoFollow(file, openFlags | (create ? fs.constants.O_CREAT : 0));
    } catch (err) {
      if (!create && errnoCode(err) === 'ENOENT') return 'absent';
      throw err;
    }
    let locked: boolean;
    try {
      locked = tryFlock(fd, LOCK_EX) || (await pollFlock(fd, deadline));
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (!locked) {
      fs.closeSync(fd);
      return 'timeout';
    }
    if (isFileAt(fd, file)) return heldLock(fd);
    fs.closeSync(fd);
  }
}

/**
 * Waits for an exclusive flock on fd until the deadline, polling: a flock waiting on a worker
 * thread cannot be called off, and would keep the process alive. One descriptor for the whole
 * wait, so /proc/PID/fd shows what a waiting process waits for.
 */
async function pollFlock(fd: number, deadline: number): Promise<boolean> {
  if (deadline === Infinity) {
    await flockAsync(fd, LOCK_EX);
    return true;
  }
  for (let pause = 1; Date.now() < deadline; pause = Math.min(pause * 2, 50)) {
    await new Promise((resolve) => setTimeout(resolve, pause));
    if (tryFlock(fd, LOCK_EX)) return true;
  }
  return false;
}

/**
 * tryLockFile for a lock file that a holder may delete (see lockDeletableFile): created if
 * missing, and counted only if the file locked is still the one at `file`.
 */
export function tryLockDeletableFile(file: string): Lock | undefined {
  for (;;) {
    mkdirp(path.dirname(file), 0o700);
    const fd = openNoFollow(file, fs.constants.O_RDWR | fs.constants.O_CREAT);
    if (!tryFlock(fd, LOCK_EX)) {
      fs.closeSync(fd);
      return undefined;
    }
    if (isFileAt(fd, file)) return heldLock(fd);
    fs.closeSync(fd);
  }
}

/** tryLockFile for a deletable lock file (see lockDeletableFile) that is never created: 'absent' when there is none. */
export function tryLockExistingFile(file: string, openFlags = fs.constants.O_RDWR): Lock | 'busy' | 'absent' {
  for (;;) {
    let fd: number;
    try {
      fd = openNoFollow(file, openFlags);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 'absent';
      throw err;
    }
    if (!tryFlock(fd, LOCK_EX)) {
      fs.closeSync(fd);
      return 'busy';
    }
    if (isFileAt(fd, file)) return heldLock(fd);
    fs.closeSync(fd);
  }
}

function isFileAt(fd: number, file: string): boolean {
  try {
    const held = fs.fstatSync(fd);
    const now = fs.statSync(file);
    return held.ino === now.ino && held.dev === now.dev;
  } catch {
    return false;
  }
}

/**
 * The lock on `file`, waiting at most timeoutMs; undefined if it is still held then. It polls: a
 * flock waiting on a worker thread cannot be called off, and would keep the process alive.
 */
export async function lockFileWithin(file: string, timeoutMs: number): Promise<Lock | undefined> {
  mkdirp(path.dirname(file), 0o700);
  const fd = openNoFollow(file, fs.constants.O_RDWR | fs.constants.O_CREAT);
  let locked: boolean;
  try {
    locked = tryFlock(fd, LOCK_EX) || (await pollFlock(fd, Date.now() + timeoutMs));
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (locked) return heldLock(fd);
  fs.closeSync(fd);
  return undefined;
}

/** True if a process holds a lock on `file` now; false if nobody does or the file is missing. */
export function isLockHeld(file: string): boolean {
  let fd: number;
  try {
    fd = openNoFollow(file, fs.constants.O_RDONLY);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
  try {
    // shared: two commands probing at once do not see each other as the holder
    return !tryFlock(fd, LOCK_SH);
  } finally {
    fs.closeSync(fd); // releases the probe's own lock
  }
}

/** The process holding a flock on `file` (pid and command line), from /proc/locks; for messages. */
export function lockHolder(file: string): { pid: number; command: string } | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return undefined;
  }
  // /proc/locks names the file as MAJOR:MINOR:INODE (hex, hex, decimal); st.dev is glibc's dev_t
  const major = Math.floor(st.dev / 256) & 0xfff;
  const minor = (st.dev & 0xff) | (Math.floor(st.dev / 4096) & ~0xff);
  const key = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK' || f[5] !== key) continue; // "->" lines are waiters, not holders
    const pid = Number(f[4]);
    let command = '?';
    try {
      command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      /* gone meanwhile */
    }
    return { pid, command: command.length > 100 ? command.slice(0, 97) + '...' : command };
  }
  return undefined;
}

function heldLock(fd: number): Lock {
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      fs.closeSync(fd); // closing the only descriptor releases the lock
    },
  };
}

/** The lock serialising everything that writes the layer with this diff_id. */
export function layerLock(roots: Roots, diffId: string): Promise<Lock> {
  return lockFile(layerLockFile(roots, diffId));
}

export function layerLockFile(roots: Roots, key: string): string {
  return lockPaths.layer(roots, key);
}
