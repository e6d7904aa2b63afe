// A container's lock: flock(2) on its directory, containers/<id>, serialises every change of one
// container (users' commands and the monitor's exit callback). The lock is the directory's inode,
// so it goes with the container through its renames: a creation makes and locks
// containers/.new-<id> and renames it into place, a removal renames containers/<id> to
// .trash-<id> and deletes it, each holding the lock throughout. A lock counts only if the
// directory locked is still the one at the path it was opened by (else it is taken again there, or
// the container is found gone), so nobody holds a moved or deleted directory's lock as the
// container's. No file of its own: that was a new inode on every creation (0.3-0.9 ms of CPU on a
// journal-less ext4) and one freed on every removal, which the next creations paid for again.
// Older boxes kept run/locks/containers/<id>.lock instead; such a file goes with its container's
// removal, or with the sweep once the container is gone. An entry at containers/<id> that is no
// directory (box never makes one: a damaged record) is still locked through that file.
// Every wait is bounded: a holder that keeps the lock longer is stuck, and is named in the error.
import * as fs from 'node:fs';
import { BoxError, errnoCode } from '../errors';
import {
  DIRECTORY_LOCK,
  isLockHeld,
  Lock,
  lockDeletableFile,
  lockHolder,
  tryLockDeletableFile,
  tryLockExistingFile,
} from '../image/locks';
import { layout, lockPaths, Roots } from '../paths';
import { mkdirp } from '../util/fs';

/** How long a command waits for a container's lock, or for its end to be recorded, before it gives up. */
export const CONTAINER_WAIT_MS = 10_000;

/** What a lock on a container that does not exist comes to: there is nothing to serialise. */
const NOTHING_TO_LOCK: Lock = { release() {} };

/**
 * The lock of an existing container, waiting at most timeoutMs. When the container does not exist
 * (any more), nothing is locked and the caller, which reads the record under the lock, finds none.
 */
export async function lockContainer(roots: Roots, id: string, timeoutMs = CONTAINER_WAIT_MS): Promise<Lock> {
  const dir = layout.container(roots, id);
  let lock: Awaited<ReturnType<typeof lockDeletableFile>>;
  try {
    lock = await lockDeletableFile(dir, false, timeoutMs, DIRECTORY_LOCK);
  } catch (err) {
    if (!isOtherThanDirectory(dir)) throw err;
    return lockEntryFile(roots, id, timeoutMs);
  }
  if (lock === 'absent') return NOTHING_TO_LOCK;
  if (lock === 'timeout') throw busy(dir, id, timeoutMs);
  return lock;
}

/**
 * The lock a creation holds from before it reserves the name until the record is in place (and,
 * with createLocked, on to the start): its staging directory's, made here, which becomes the
 * container's directory by a rename.
 */
export async function lockNewContainer(roots: Roots, id: string): Promise<Lock> {
  const staging = layout.containerStaging(roots, id);
  mkdirp(layout.containers(roots), 0o700);
  for (;;) {
    try {
      fs.mkdirSync(staging, { mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const lock = await lockDeletableFile(staging, false, CONTAINER_WAIT_MS, DIRECTORY_LOCK);
    if (lock === 'timeout') throw busy(staging, id, CONTAINER_WAIT_MS);
    if (lock !== 'absent') return lock;
    // a sweep took it for a killed creation's between the mkdir and the lock, and deleted it
  }
}

/**
 * The container's lock if nobody holds it now, wherever the container is in its life: its
 * creation's staging directory, its directory, its removal's trash, looked at in the order it
 * moves in, so a rename meanwhile never hides it. 'busy' if a command holds it, 'absent' if none
 * of them exists. Never waits.
 */
export function tryLockContainer(roots: Roots, id: string): Lock | 'busy' | 'absent' {
  const staged = tryLockExistingFile(layout.containerStaging(roots, id), DIRECTORY_LOCK);
  if (staged !== 'absent') return staged;
  const dir = layout.container(roots, id);
  let lock: Lock | 'busy' | 'absent';
  try {
    lock = tryLockExistingFile(dir, DIRECTORY_LOCK);
  } catch (err) {
    if (!isOtherThanDirectory(dir)) throw err;
    return tryLockDeletableFile(lockPaths.containerFile(roots, id)) ?? 'busy';
  }
  if (lock !== 'absent') return lock;
  return tryLockExistingFile(layout.containerTrash(roots, id), DIRECTORY_LOCK);
}

/** Whether a command holds the lock of existing container `id` now (taken shared to look, and let go). */
export function isContainerLockHeld(roots: Roots, id: string): boolean {
  const dir = layout.container(roots, id);
  return isLockHeld(isOtherThanDirectory(dir) ? lockPaths.containerFile(roots, id) : dir);
}

/** Deletes an older box's lock file of container `id`; call with its lock held, or knowing nobody can hold it. */
export function removeContainerLockFile(roots: Roots, id: string): void {
  fs.rmSync(lockPaths.containerFile(roots, id), { force: true });
}

/** The lock of a containers/<id> entry that is no directory: a file of its own, which goes with the entry. */
async function lockEntryFile(roots: Roots, id: string, timeoutMs: number): Promise<Lock> {
  const file = lockPaths.containerFile(roots, id);
  const lock = await lockDeletableFile(file, true, timeoutMs);
  if (lock === 'absent' || lock === 'timeout') throw busy(file, id, timeoutMs);
  // removed while we waited: ids are never reused, so the file can go
  if (!fs.lstatSync(layout.container(roots, id), { throwIfNoEntry: false })) removeContainerLockFile(roots, id);
  return lock;
}

/** True if something other than a directory (a link, a file) is at `entry`: opening it as one failed. */
function isOtherThanDirectory(entry: string): boolean {
  const st = fs.lstatSync(entry, { throwIfNoEntry: false });
  return st !== undefined && !st.isDirectory();
}

function busy(file: string, id: string, timeoutMs: number): BoxError {
  const holder = lockHolder(file);
  const who = holder ? `process ${holder.pid} (${holder.command})` : 'another box command';
  const end = holder ? `end it (kill ${holder.pid})` : 'end it';
  const held = `has held its lock for more than ${timeoutMs / 1000} s`;
  return new BoxError(`container ${id.slice(0, 12)} is busy: ${who} ${held}; wait for it or ${end}, then try again`);
}
