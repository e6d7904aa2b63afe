// Cross-process locks for the image store: flock(2) on a file under the runtime root. The kernel
// releases a lock when its holder exits, however it exits, so a killed pull never blocks the
// next one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flockAsync, LOCK_EX } from '../linux/syscalls';
import { Roots } from '../paths';
import { mkdirp } from '../util/fs';

export interface Lock {
  release(): void;
}

/** Waits for an exclusive lock on `file` (created if missing) without blocking the event loop. */
export async function lockFile(file: string): Promise<Lock> {
  mkdirp(path.dirname(file), 0o700);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    await flockAsync(fd, LOCK_EX);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
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
  return lockFile(path.join(roots.runroot, 'locks', 'layers', diffId.replace(/^sha256:/, '') + '.lock'));
}
