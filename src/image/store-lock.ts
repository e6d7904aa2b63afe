// The image store's lock, and the reclaiming of what killed holders left behind.
//
// Everything that adds to the store (pull, import, load, tag) holds the lock shared for its whole
// duration, so that what it wrote but has not yet referenced (a layer committed before the image's
// tag) is never collected, and so does the creation of a container from resolving its image to
// writing its record; garbage collection (rmi, image prune) holds it exclusively, and then every
// ".tmp-" work file is a dead process's.
//
// box has no daemon, so a holder killed half-way (kill -9, the OOM killer, a CI timeout) leaves
// work files, short links, blobs and layers that nothing references, and nobody else would ever
// notice. Each holder therefore keeps a marker, <runroot>/store-ops/op-<pid>.<start>-<random>, for
// as long as it holds the lock; a marker whose process is gone says something may be left. The
// next command that takes the lock sees it and reclaims: everything, as garbage collection does,
// when it can take the lock exclusively at once; otherwise (beside live holders) only the work
// files whose names carry a dead writer's token (src/util/owner.ts), keeping the markers so that
// a later command completes the sweep. A runroot without the "swept" file (wiped by a reboot, or
// made by an older box) counts as a sign too. Copies of box's assets (the helper) are written into
// the cache outside this lock, so its work files of dead writers are looked for every time. What
// was reclaimed is told in one line on stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCK_EX, LOCK_SH } from '../linux/syscalls';
import { featurePaths, lockPaths, Roots } from '../paths';
import { mkdirp } from '../util/fs';
import { openNoFollow } from '../util/safe-open';
import { humanSize } from '../util/units';
import { ownedName, ownerAlive, ownerOf } from '../util/owner';
import { randomHex } from '../util/random';
import { writeStderr } from '../util/stderr';
import { cacheWorkFiles, collectGarbage, GcResult, layerWorkDirBusy, removeTmpIfEmpty, workFiles } from './gc';
import { Lock, lockFile, lockHolder, tryLockFile } from './locks';
import { ImageStore } from './store';

const SWEPT = 'swept';
const operationsDir = featurePaths.storeOperations;

/** The store's lock and its holder's marker (see above). */
export interface StoreLock extends Lock {
  /** Leaves the marker now if it is not there yet: a holder taken with markOnWrite calls it before it writes. */
  markWrites(): void;
}

/**
 * Takes the store's lock (see above), first reclaiming what killed holders left. markOnWrite: the
 * marker is left only by markWrites(), for a holder that mostly reads (a container's creation
 * writes into the store only for a layer that predates short links): on every start, a file made
 * and deleted costs two inodes, each 0.3-0.9 ms on a disk without a journal.
 */
export async function storeLock(
  roots: Roots,
  mode: 'shared' | 'exclusive',
  { markOnWrite = false } = {},
): Promise<StoreLock> {
  const file = lockPaths.store(roots);
  const dead = deadOperations(roots);
  let pending = dead !== undefined;
  if (dead && mode === 'shared') {
    // The complete sweep needs the lock alone; tried without waiting, and given up beside live holders.
    const alone = tryLockFile(file);
    if (alone) {
      try {
        sweepAll(roots, dead);
      } finally {
        alone.release();
      }
      pending = false;
    }
  }
  // Holders may rightly keep the lock long (a pull): past 10 s the user is told who has it.
  const lock = await lockFile(file, mode === 'shared' ? LOCK_SH : LOCK_EX, () => tellWaiting(file));
  let marker: string | undefined;
  const leaveMarker = () => {
    mkdirp(operationsDir(roots), 0o700);
    const file = path.join(operationsDir(roots), ownedName('op', randomHex(4)));
    createEmptyFile(file, fs.constants.O_EXCL);
    marker = file;
  };
  try {
    if (pending && mode === 'exclusive') sweepAll(roots, dead!);
    else if (pending) sweepDeadWriters(roots);
    else sweepCache(roots); // asset copies are written outside this lock: no marker tells of them
    if (!markOnWrite) leaveMarker();
  } catch (err) {
    lock.release();
    throw err;
  }
  let held = true;
  return {
    markWrites() {
      if (!held) throw new Error('the store lock was released: take it again before writing');
      if (marker === undefined) leaveMarker();
    },
    release() {
      if (!held) return;
      held = false;
      // before the lock: a marker without a holder means a dead one
      if (marker !== undefined) fs.rmSync(marker, { force: true });
      lock.release();
    },
  };
}

/** Runs fn holding the store's exclusive (garbage-collection) lock. */
export async function withExclusiveStore<T>(store: ImageStore, fn: () => T | Promise<T>): Promise<T> {
  const lock = await storeLock(store.roots, 'exclusive');
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/**
 * Markers of holders that died, when there are signs of leftovers (also none at all, when the
 * runroot has never been swept); undefined when nothing is to be done.
 */
function deadOperations(roots: Roots): string[] | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(operationsDir(roots));
  } catch {
    return []; // never swept since the runroot was made
  }
  const dead = names.filter((n) => n !== SWEPT && !isAlive(n));
  return dead.length || !names.includes(SWEPT) ? dead : undefined;
}

function isAlive(marker: string): boolean {
  const owner = ownerOf(marker);
  return owner !== undefined && ownerAlive(owner);
}

/** Everything garbage collection removes; the caller holds the lock exclusively. */
function sweepAll(roots: Roots, deadMarkers: string[]): void {
  const store = new ImageStore(roots);
  let res: GcResult;
  try {
    res = collectGarbage(store);
    res.temp += removeDeadWriters(store, cacheWorkFiles(store));
  } catch (err) {
    writeStderr(`box: warning: could not reclaim what interrupted commands left: ${(err as Error).message}\n`);
    return;
  }
  for (const m of deadMarkers) fs.rmSync(path.join(operationsDir(roots), m), { force: true });
  mkdirp(operationsDir(roots), 0o700);
  createEmptyFile(path.join(operationsDir(roots), SWEPT), 0);
  report(res);
}

/** Work files whose writer's token names a dead process; safe beside live holders of the lock. */
function sweepDeadWriters(roots: Roots): void {
  const store = new ImageStore(roots);
  let removed = 0;
  try {
    removed = removeDeadWriters(store, [...workFiles(store), ...cacheWorkFiles(store)]);
    removeTmpIfEmpty(store);
  } catch (err) {
    writeStderr(`box: warning: could not reclaim what interrupted commands left: ${(err as Error).message}\n`);
  }
  report({ layers: [], blobs: [], temp: removed, bytes: 0 });
}

/** Half-written asset copies of dead writers in the cache (one readdir when there are none). */
function sweepCache(roots: Roots): void {
  const store = new ImageStore(roots);
  const files = cacheWorkFiles(store);
  if (files.length) report({ layers: [], blobs: [], temp: removeDeadWriters(store, files), bytes: 0 });
}

/** Removes the files among `paths` whose name carries a dead writer's token; returns how many. */
function removeDeadWriters(store: ImageStore, paths: string[]): number {
  const alive = new Map<string, boolean>();
  let removed = 0;
  for (const p of paths) {
    const owner = ownerOf(path.basename(p));
    if (owner === undefined) continue; // no token: only a complete sweep can tell
    if (!alive.has(owner)) alive.set(owner, ownerAlive(owner));
    if (alive.get(owner) || layerWorkDirBusy(store, path.basename(p))) continue;
    fs.rmSync(p, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** One line on stderr, only when something was reclaimed (stdout stays what scripts parse). */
function report(res: GcResult): void {
  const parts: string[] = [];
  if (res.temp) parts.push(count(res.temp, 'temporary file'));
  if (res.layers.length) parts.push(count(res.layers.length, 'unused layer'));
  if (res.blobs.length) parts.push(count(res.blobs.length, 'unused blob'));
  if (!parts.length) return;
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
  const size = res.bytes ? ` (${humanSize(res.bytes)})` : '';
  writeStderr(`box: reclaimed ${list}${size} left by interrupted commands\n`);
}

/** An empty root-only file (mode 0600 whatever the umask), not through a link. */
function createEmptyFile(file: string, extraFlags: number): void {
  fs.closeSync(openNoFollow(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | extraFlags, 0o600));
}

function tellWaiting(file: string): void {
  const holder = lockHolder(file);
  const who = holder ? `process ${holder.pid} (${holder.command})` : 'another box command';
  const stop = holder ? `, or end it (kill ${holder.pid})` : '';
  writeStderr(`box: waiting for the image store, in use by ${who}: this goes on when that ends${stop}\n`);
}
