// Cross-process locks for the image store: flock(2) on a file under the runtime root. The kernel
// releases a lock when its holder exits, however it exits, so a killed pull never blocks the
// next one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flockAsync, LOCK_EX, tryFlock } from '../linux/syscalls';
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
