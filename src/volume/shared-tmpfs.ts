// A local volume made with `-o type=tmpfs` is one tmpfs for every container that uses it, as Docker's
// local driver makes it: mounted on the host at the volume's _data when the first of them starts,
// kept while any of them runs, unmounted when the last one ends (its content goes with it, as in
// Docker). The holders are one empty file per container under <runroot>/volume-mounts/<name>/ (gone
// with a reboot, as the mount is): a start adds its own before it mounts, an end removes its own and
// unmounts after the last, both under the volume's lock, which is only ever held over a few system
// calls, and whose file goes with the volume. A holder that ended without saying so (its monitor or
// its box killed) is dropped by the next end, ps or rm: a container that is not running and whose
// lock is free (no start or end of it at work) holds nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors';
import { lockDeletableFileBlocking } from '../image/locks';
import { MNT_DETACH, mountFs, umount2 } from '../linux/syscalls';
import type { MountConfig } from '../model';
import { CONTAINER_ID_RE, layout, lockPaths, Roots, VOLUME_NAME_RE } from '../paths';
import { tryLockContainer } from '../runtime/container-lock';
import { mkdirp, readdirOrEmpty } from '../util/fs';
import { writeStderr } from '../util/stderr';
import type { MountSource } from './attach';
import { tmpfsMountArgs } from './mount-flags';
import { VolumeStore } from './store';

/** Whether container `id`'s record says it runs (the caller's view of the records). */
export type IsRunning = (id: string) => boolean;

/**
 * Registers container `id` (being started, its lock held) as a holder of each shared tmpfs volume
 * among its mounts, mounting the tmpfs on the host if it is the first; those mounts become binds of
 * the volume's directory. Undone by releaseSharedTmpfs (also when the start fails).
 */
export function holdSharedTmpfs(roots: Roots, id: string, sources: MountSource[]): MountSource[] {
  const store = new VolumeStore(roots);
  return sources.map((s) => {
    if (s.mount.type !== 'volume' || s.driver?.type !== 'tmpfs') return s;
    const name = s.mount.source;
    const { flags, data } = tmpfsMountArgs(s.driver.options, `the options of volume ${name}`);
    withVolumeLock(roots, name, () => {
      const holder = path.join(layout.tmpfsHoldersOf(roots, name), id);
      mkdirp(path.dirname(holder), 0o700);
      fs.writeFileSync(holder, '');
      try {
        if (!isMounted(store, name)) mountFs('tmpfs', store.dataDir(name), 'tmpfs', flags, data);
      } catch (err) {
        fs.rmSync(holder, { force: true });
        throw err;
      }
    });
    // the one tmpfs, bound as a plain volume is (and, as before, nothing copied into it)
    return { mount: { ...s.mount, noCopy: true }, hostPath: fs.realpathSync(store.dataDir(name)) };
  });
}

/**
 * Container `id` ended (or its start failed): it lets go of its shared tmpfs volumes. A failure
 * is told and does not stop the end being recorded: the next ps or rm settles the volume again.
 */
export function releaseSharedTmpfs(roots: Roots, id: string, mounts: MountConfig[] = [], running: IsRunning): void {
  for (const m of mounts) {
    if (m.type !== 'volume' || !VOLUME_NAME_RE.test(m.source)) continue;
    if (!fs.existsSync(path.join(layout.tmpfsHoldersOf(roots, m.source), id))) continue;
    try {
      settle(roots, m.source, running, id);
    } catch (err) {
      writeStderr(`box: warning: could not unmount the tmpfs of volume ${m.source}: ${(err as Error).message}\n`);
    }
  }
}

/** Drops the holders that ended without saying so, and unmounts what nobody holds any more. */
export function reconcileSharedTmpfs(roots: Roots, running: IsRunning): void {
  for (const name of readdirOrEmpty(layout.tmpfsHolders(roots))) {
    if (VOLUME_NAME_RE.test(name)) settle(roots, name, running);
  }
}

/** The containers registered as holding the volume's tmpfs (some may have ended: see settle). */
export function tmpfsHolders(roots: Roots, name: string): string[] {
  return readdirOrEmpty(layout.tmpfsHoldersOf(roots, name)).filter((n) => CONTAINER_ID_RE.test(n));
}

/** Whether a container may still hold the volume's tmpfs (see settle): what `system check` asks. */
export function sharedTmpfsHeld(roots: Roots, name: string, running: IsRunning): boolean {
  return tmpfsHolders(roots, name).some((id) => mayHold(roots, id, running));
}

/** Drops the volume's holders that ended and, with none left, unmounts its tmpfs. */
export function settleSharedTmpfs(roots: Roots, name: string, running: IsRunning): void {
  settle(roots, name, running);
}

/** Under the volume's lock: `leaving` and the holders that ended go; with none left, the tmpfs. */
function settle(roots: Roots, name: string, running: IsRunning, leaving?: string): void {
  withVolumeLock(roots, name, () => {
    const dir = layout.tmpfsHoldersOf(roots, name);
    if (leaving) fs.rmSync(path.join(dir, leaving), { force: true });
    for (const id of tmpfsHolders(roots, name)) {
      if (!mayHold(roots, id, running)) fs.rmSync(path.join(dir, id), { force: true });
    }
    if (tmpfsHolders(roots, name).length) return;
    const store = new VolumeStore(roots);
    if (isMounted(store, name)) umount2(store.dataDir(name), MNT_DETACH);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** Whether container `id` may hold the tmpfs: it runs, or a start or an end of it is at work. */
function mayHold(roots: Roots, id: string, running: IsRunning): boolean {
  if (running(id)) return true;
  const lock = tryLockContainer(roots, id);
  if (lock === 'busy') return true;
  if (lock !== 'absent') lock.release();
  return false;
}

/** Whether the volume's _data is a mount point (another file system than the volume's directory). */
function isMounted(store: VolumeStore, name: string): boolean {
  try {
    return fs.statSync(store.dataDir(name)).dev !== fs.statSync(store.dir(name)).dev;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** The volume's lock, whose file goes with the volume (VolumeStore.removeIfUnused deletes it under the lock). */
function withVolumeLock(roots: Roots, name: string, fn: () => void): void {
  const lock = lockDeletableFileBlocking(lockPaths.tmpfsVolume(roots, name));
  try {
    fn();
  } finally {
    lock.release();
  }
}
