// Cross-process locks for the image store: flock(2) on a file under the runtime root. The kernel
// releases a lock when its holder exits, however it exits, so a killed pull never blocks the
// next one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flockAsync, LOCK_EX, LOCK_SH, tryFlock } from '../linux/syscalls';
import { errnoCode } from '../errors';
import { lockPaths, Roots } from '../paths';
import { mkdirp } from '../util/fs';
import { openNoFollow } from '../util/safe-open';

export interface Lock {
  release(): void;
}

/** Waits for an exclusive lock on `file` (created if missing) without blocking the event loop. */
export async function lockFile(file: string, op: number = LOCK_EX): Promise<Lock> {
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
  return heldLock(fd);
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
 * an existing file is locked: undefined when there is none.
 */
export async function lockDeletableFile(file: string, create: boolean): Promise<Lock | undefined> {
  for (;;) {
    if (create) mkdirp(path.dirname(file), 0o700);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0), 0o600);
    } catch (err) {
      if (!create && errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    try {
      if (!tryFlock(fd, LOCK_EX)) await flockAsync(fd, LOCK_EX);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (isFileAt(fd, file)) return heldLock(fd);
    fs.closeSync(fd);
  }
}

/** tryLockFile for a deletable lock file (see lockDeletableFile) that is never created: 'absent' when there is none. */
export function tryLockExistingFile(file: string): Lock | 'busy' | 'absent' {
  for (;;) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR);
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

/**
 * The image store's garbage-collection lock. Everything that adds to the store (pull, import,
 * load, tag) holds it shared for its whole duration, so that what it wrote but has not yet
 * referenced (a layer committed before the image's tag) is never collected, and so does the
 * creation of a container from resolving its image to writing its record; garbage collection
 * (rmi, image prune) holds it exclusively, and then every ".tmp-" work file is a dead process's.
 */
export function storeLock(roots: Roots, mode: 'shared' | 'exclusive'): Promise<Lock> {
  return lockFile(lockPaths.store(roots), mode === 'shared' ? LOCK_SH : LOCK_EX);
}
