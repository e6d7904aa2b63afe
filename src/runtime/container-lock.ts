// A container's lock: flock(2) on <runroot>/locks/containers/<id>.lock serialises every change of
// one container (users' commands and the monitor's exit callback). The lock file lives exactly as
// long as the container: its creation makes it, its removal deletes it, and nothing makes it again
// for a container that is gone (an exit callback coming after `rm -f` used to leave one for ever).
// A holder may delete the file, so locks are taken with lockDeletableFile. Every wait is bounded:
// a holder that keeps the lock longer is stuck, and is named in the error.
import * as fs from 'node:fs';
import { BoxError } from '../errors';
import { Lock, lockDeletableFile, lockHolder } from '../image/locks';
import { layout, lockPaths, Roots } from '../paths';

/** How long a command waits for a container's lock, or for its end to be recorded, before it gives up. */
export const CONTAINER_WAIT_MS = 10_000;

/** What a lock on a container that does not exist comes to: there is nothing to serialise. */
const NOTHING_TO_LOCK: Lock = { release() {} };

/**
 * The lock of an existing container, waiting at most timeoutMs. When the container does not exist
 * (any more), no lock file is left behind and the caller, which reads the record under the lock,
 * finds none.
 */
export async function lockContainer(roots: Roots, id: string, timeoutMs = CONTAINER_WAIT_MS): Promise<Lock> {
  const file = lockPaths.container(roots, id);
  const exists = () => fs.existsSync(layout.container(roots, id));
  const lock = await lockDeletableFile(file, exists(), timeoutMs);
  if (lock === 'absent') return NOTHING_TO_LOCK;
  if (lock === 'timeout') throw busy(file, id, timeoutMs);
  // Removed while we waited, or gone before: ids are never reused, so the file can go.
  if (!exists()) fs.rmSync(file, { force: true });
  return lock;
}

/** The lock a creation holds from reserving the name until the record is in place. */
export async function lockNewContainer(roots: Roots, id: string): Promise<Lock> {
  const file = lockPaths.container(roots, id);
  const lock = await lockDeletableFile(file, true, CONTAINER_WAIT_MS);
  if (lock === 'absent' || lock === 'timeout') throw busy(file, id, CONTAINER_WAIT_MS);
  return lock;
}

function busy(file: string, id: string, timeoutMs: number): BoxError {
  const holder = lockHolder(file);
  const who = holder ? `process ${holder.pid} (${holder.command})` : 'another box command';
  const end = holder ? `end it (kill ${holder.pid})` : 'end it';
  const held = `has held its lock for more than ${timeoutMs / 1000} s`;
  return new BoxError(`container ${id.slice(0, 12)} is busy: ${who} ${held}; wait for it or ${end}, then try again`);
}

/** Deletes the lock file of a container that is gone; call with its lock held, or knowing nobody can hold it. */
export function removeContainerLockFile(roots: Roots, id: string): void {
  fs.rmSync(lockPaths.container(roots, id), { force: true });
}
