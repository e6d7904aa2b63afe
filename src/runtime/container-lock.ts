// A container's lock: flock(2) on <runroot>/locks/containers/<id>.lock serialises every change of
// one container (users' commands and the monitor's exit callback). The lock file lives exactly as
// long as the container: its creation makes it, its removal deletes it, and nothing makes it again
// for a container that is gone (an exit callback coming after `rm -f` used to leave one for ever).
// A holder may delete the file, so locks are taken with lockDeletableFile.
import * as fs from 'node:fs';
import { Lock, lockDeletableFile } from '../image/locks';
import { layout, lockPaths, Roots } from '../paths';

/** What a lock on a container that does not exist comes to: there is nothing to serialise. */
const NOTHING_TO_LOCK: Lock = { release() {} };

/**
 * The lock of an existing container. When the container does not exist (any more), no lock file
 * is left behind and the caller, which reads the record under the lock, finds none.
 */
export async function lockContainer(roots: Roots, id: string): Promise<Lock> {
  const file = lockPaths.container(roots, id);
  const exists = () => fs.existsSync(layout.container(roots, id));
  const lock = await lockDeletableFile(file, exists());
  if (!lock) return NOTHING_TO_LOCK;
  // Removed while we waited, or gone before: ids are never reused, so the file can go.
  if (!exists()) fs.rmSync(file, { force: true });
  return lock;
}

/** The lock a creation holds from reserving the name until the record is in place. */
export async function lockNewContainer(roots: Roots, id: string): Promise<Lock> {
  return (await lockDeletableFile(lockPaths.container(roots, id), true))!;
}

/** Deletes the lock file of a container that is gone; call with its lock held, or knowing nobody can hold it. */
export function removeContainerLockFile(roots: Roots, id: string): void {
  fs.rmSync(lockPaths.container(roots, id), { force: true });
}
