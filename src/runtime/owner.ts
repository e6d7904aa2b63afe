// Who answers for a running container, and how the next box command finds out that nobody does.
// A detached container answers through its monitor (a live box-helper whose pid is recorded, or
// named by its state file when the box that started it was killed before it learned the pid). A
// foreground `box run` answers for its container itself: it holds an flock on the container's
// owner file for its whole life, and the kernel drops that lock however box ends (kill -9
// included), so a free lock on a running record means its exit will never be recorded by it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLockHeld, Lock, tryLockFile } from '../image/locks';
import { containerCgroup, detectCgroups } from '../linux/cgroups';
import { pidfdOpen, pidfdSendSignal } from '../linux/syscalls';
import { Roots } from '../paths';
import { ContainerRecord } from '../model';
import { isContainerLockHeld } from './container-lock';
import { isMonitorAlive, runtimeDir } from './monitor-state';

function ownerFile(roots: Roots, id: string): string {
  return path.join(runtimeDir(roots, id), 'owner.lock');
}

/** Taken by a foreground `box run` before its container is started, released when it is recorded. */
export function holdOwnership(roots: Roots, id: string): Lock {
  fs.mkdirSync(runtimeDir(roots, id), { recursive: true, mode: 0o700 });
  const lock = tryLockFile(ownerFile(roots, id));
  if (!lock) throw new Error(`the owner lock of container ${id} is held by another process`); // a fresh id: never
  return lock;
}

function releasedFile(roots: Roots, id: string): string {
  return path.join(runtimeDir(roots, id), 'released');
}

/**
 * A foreground `box run`'s mark that it let its container's init go on to its command (after the
 * host's work between clone and exec, the network's; at once when there is none). The next
 * command, finding that run killed, tells a container that may have run from one that never
 * could: the helper kills an init box never let go. An empty file: no write of the record.
 */
export function markInitReleased(roots: Roots, id: string): void {
  fs.closeSync(fs.openSync(releasedFile(roots, id), 'w', 0o600));
}

export function initReleased(roots: Roots, id: string): boolean {
  return fs.existsSync(releasedFile(roots, id));
}

/** True while whoever must record the end of a running container is alive to do it. */
export function isOwnerAlive(roots: Roots, record: ContainerRecord): boolean {
  if (record.state.ownerPid !== undefined) return isLockHeld(ownerFile(roots, record.id));
  return isMonitorAlive(record.state.monitorPid);
}

/**
 * True if a foreground `box run` owned this record and is gone without cleaning up: killed before
 * the container started (its cgroup may exist, a --rm record is still there) or after it recorded
 * the end. Running records are isOwnerAlive's.
 */
export function isAbandoned(roots: Roots, record: ContainerRecord): boolean {
  if (record.state.status === 'running' || record.state.restarting) return false;
  const file = ownerFile(roots, record.id);
  return fs.lstatSync(file, { throwIfNoEntry: false }) !== undefined && !isLockHeld(file);
}

/**
 * True if a start was killed after it made the container's cgroup and before it recorded the run
 * (`run -d`, `start`, a foreground `run` before its owner lock): the record is created or exited,
 * its cgroup exists, and no command holds the container's lock or owner lock. Every start holds
 * the container's lock from before it makes the cgroup until the run is recorded (a foreground
 * run: until it holds its owner lock), so a live start is never taken for a killed one.
 * lockedByCaller: the caller holds the container's lock (then no start can).
 */
export function isStartAbandoned(roots: Roots, record: ContainerRecord, lockedByCaller = false): boolean {
  const { status, restarting } = record.state;
  if ((status !== 'created' && status !== 'exited') || restarting) return false;
  const cgroupFiles = containerCgroup(detectCgroups(), record.id).procsFiles();
  if (!cgroupFiles.some((f) => fs.existsSync(f))) return false;
  if (!lockedByCaller && isContainerLockHeld(roots, record.id)) return false;
  return !isLockHeld(ownerFile(roots, record.id));
}

/** SIGKILL to a box-helper (checked through a pidfd, so a recycled pid is never hit); false if gone. */
export function killHelper(pid: number | undefined): boolean {
  if (!pid) return false;
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return false;
  }
  try {
    if (!isMonitorAlive(pid)) return false;
    pidfdSendSignal(fd, 9);
    return true;
  } catch {
    return false; // exited meanwhile
  } finally {
    fs.closeSync(fd);
  }
}
