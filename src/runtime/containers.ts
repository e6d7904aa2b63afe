// Container records on disk: containers/<id>/container.json plus the container's own files
// (writable layer, hostname/hosts/resolv.conf); names are reserved in the registry of names.ts.
// A container appears and disappears with one rename(2) each, so a box killed at any moment leaves
// either a listed container or hidden leftovers that the next `ps` or `rm` sweeps: a record is
// written in containers/.new-<id> and renamed into place; a removal releases the name, then renames
// containers/<id> to containers/.trash-<id> and deletes that. The directory is also the container's
// lock (container-lock.ts), held through both renames. Records read back are checked
// (record-check.ts): a damaged one is listed as such and can be removed, but never trusted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { DIRECTORY_LOCK, Lock, tryLockExistingFile } from '../image/locks';
import { CONTAINER_ID_RE, layout, lockPaths, Roots } from '../paths';
import { removeTree, writeFileAtomic, writeNewFile } from '../util/fs';
import { readNoFollow } from '../util/safe-open';
import { lockNewContainer, removeContainerLockFile } from './container-lock';
import { ContainerConfig, ContainerRecord, ContainerState } from '../model';
import {
  claimName,
  generateName,
  idForName,
  NAME_RE,
  nameInUseError,
  namesOf,
  releaseName,
  sweepStaleNames,
} from './names';
import { parseRecord } from './record-check';
import { randomHex } from '../util/random';
import { releaseMounts } from '../volume/attach';
import { reconcileSharedTmpfs } from '../volume/shared-tmpfs';
import { reconcileIfIdle } from '../volume/store';
import { isoTime } from '../util/iso-time';

export function newContainerId(): string {
  return randomHex(32);
}

export function checkName(name: string | undefined): void {
  if (name !== undefined && !NAME_RE.test(name)) {
    throw new BoxError(
      `invalid container name "${name}": use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
}

/** A container directory whose record cannot be used: what is wrong, and where. */
export interface DamagedContainer {
  id: string;
  dir: string;
  problem: string;
}

export function isDamaged(c: ContainerRecord | DamagedContainer): c is DamagedContainer {
  return 'problem' in c;
}

/** A command met a damaged record: says what is wrong and how to get rid of it. */
export class DamagedRecordError extends BoxError {
  constructor(readonly damaged: DamagedContainer) {
    super(
      `the record of container ${damaged.id.slice(0, 12)} is damaged (${damaged.problem}; ${damaged.dir}): ` +
        `remove the container with box rm -f ${damaged.id}`,
    );
  }
}

/** A record as its file holds it. */
const recordText = (record: ContainerRecord) => JSON.stringify(record, null, 2) + '\n';

export class ContainerStore {
  constructor(readonly roots: Roots) {}

  dir(id: string): string {
    return layout.container(this.roots, id);
  }

  file(id: string, name: string): string {
    return path.join(this.dir(id), name);
  }

  /**
   * Reserves the name and writes the record; throws before creating anything if the name is taken.
   * A name box generated (`generated`) is taken again only in the unlikely case another container
   * got it meanwhile: then another one is generated. The container's lock is held throughout, which
   * tells a command that finds the name before the record that the creation is alive.
   */
  async create(...args: Parameters<ContainerStore['createLocked']>): Promise<ContainerRecord> {
    const { record, lock } = await this.createLocked(...args);
    lock.release();
    return record;
  }

  /**
   * create(), returning with the container's lock still held (the caller releases it): a start
   * that goes on under it knows its copy of the record is the one on disk.
   */
  async createLocked(
    id: string,
    config: ContainerConfig,
    requestedName: string | undefined,
    autoRemove: boolean,
    generated = false,
    admission: Pick<ContainerRecord, 'admittedBy' | 'noDefaultPolicies'> = {},
  ): Promise<{ record: ContainerRecord; lock: Lock }> {
    checkName(requestedName);
    const lock = await lockNewContainer(this.roots, id); // makes the staging directory
    const staging = layout.containerStaging(this.roots, id);
    let name: string | undefined;
    try {
      name = await this.reserveName(requestedName, id, generated);
      const created = isoTime();
      const record: ContainerRecord = {
        version: 1,
        id,
        name,
        created,
        autoRemove,
        config,
        state: { status: 'created' },
      };
      if (admission.admittedBy) record.admittedBy = admission.admittedBy;
      if (admission.noDefaultPolicies) record.noDefaultPolicies = true;
      // written in place: the directory is renamed into place only once the record is whole
      writeNewFile(path.join(staging, 'container.json'), recordText(record));
      fs.renameSync(staging, this.dir(id));
      return { record, lock };
    } catch (err) {
      if (name !== undefined) releaseName(this.roots, name, id);
      fs.rmSync(staging, { recursive: true, force: true });
      lock.release();
      throw err;
    }
  }

  private async reserveName(requested: string | undefined, id: string, generated: boolean): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const name = (attempt === 0 ? requested : undefined) ?? generateName();
      if (await claimName(this.roots, name, id)) return name;
      if (requested !== undefined && !generated) throw nameInUseError(name, idForName(this.roots, name));
      if (attempt > 50) throw new BoxError('could not generate a free container name');
    }
  }

  save(record: ContainerRecord): void {
    writeFileAtomic(this.file(record.id, 'container.json'), recordText(record), 0o600, false);
  }

  /**
   * Merges a state change into the record on disk (not into a possibly stale copy: a concurrent
   * rename or update must survive) and updates the caller's copy to match.
   */
  setState(record: ContainerRecord, state: Partial<ContainerState>, opts: { current?: boolean } = {}): void {
    // current: the caller's copy is the one on disk (written or read under the lock it still holds)
    const current = (opts.current ? undefined : this.get(record.id)) ?? record;
    current.state = { ...current.state, ...state };
    this.save(current);
    Object.assign(record, current);
  }

  /** The record of container `id`, checked; undefined if there is no such container. */
  read(id: string): ContainerRecord | DamagedContainer | undefined {
    const dir = this.dir(id);
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!st) return undefined;
    // (a link here is refused where it would be used: safe-open; rm deletes the link alone)
    if (!st.isDirectory() && !st.isSymbolicLink()) return { id, dir, problem: 'not a directory' };
    let text: string;
    try {
      text = readNoFollow(path.join(dir, 'container.json')).toString('utf8');
    } catch (err) {
      if (!fs.lstatSync(dir, { throwIfNoEntry: false })) return undefined; // removed meanwhile
      const code = errnoCode(err);
      if (code === 'ENOENT') return { id, dir, problem: 'container.json is missing' };
      return { id, dir, problem: err instanceof BoxError ? err.message : `container.json cannot be read (${code})` };
    }
    const record = parseRecord(id, text);
    return typeof record === 'string' ? { id, dir, problem: record } : record;
  }

  /** read(), for commands that need a usable record: a damaged one is a DamagedRecordError. */
  get(id: string): ContainerRecord | undefined {
    const c = this.read(id);
    if (c && isDamaged(c)) throw new DamagedRecordError(c);
    return c;
  }

  /** Full id, unique id prefix or name; damaged records too (for rm). */
  lookup(query: string): ContainerRecord | DamagedContainer | undefined {
    const byName = idForName(this.roots, query.replace(/^\//, ''));
    if (byName) return this.read(byName);
    if (!/^[0-9a-f]{1,64}$/.test(query)) return undefined;
    const ids = this.ids().filter((id) => id.startsWith(query));
    if (ids.length > 1) throw new BoxError(`container id prefix "${query}" is ambiguous: give more digits or the name`);
    return ids.length ? this.read(ids[0]) : undefined;
  }

  /** lookup() of a usable record: a damaged one is a DamagedRecordError. */
  find(query: string): ContainerRecord | undefined {
    const c = this.lookup(query);
    if (c && isDamaged(c)) throw new DamagedRecordError(c);
    return c;
  }

  /** The ids of the container directories (anything else under containers/ is never taken for one). */
  ids(): string[] {
    try {
      return fs.readdirSync(layout.containers(this.roots)).filter((d) => CONTAINER_ID_RE.test(d));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  /** Every container: the usable records, newest first, and the damaged ones. */
  scan(): { records: ContainerRecord[]; damaged: DamagedContainer[] } {
    const records: ContainerRecord[] = [];
    const damaged: DamagedContainer[] = [];
    for (const id of this.ids()) {
      const c = this.read(id);
      if (c && isDamaged(c)) damaged.push(c);
      else if (c) records.push(c);
    }
    records.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    return { records, damaged };
  }

  /** The usable records, newest first. */
  list(): ContainerRecord[] {
    return this.scan().records;
  }

  /**
   * Deletes a container's name, record and files (an older box's lock file too), in an order where a kill at
   * any point leaves it listed (the record is still in place) or gone (hidden trash is left for
   * sweep()). Without a name (a damaged record), every name linked to the id goes. Call with the
   * container's lock held, after its kernel objects are released. Its volumes are let go of, and
   * its anonymous ones removed with `volumes` (rm -v) or when it was created with --rm.
   */
  remove(c: { id: string; name?: string; config?: ContainerConfig; autoRemove?: boolean }, volumes = false): void {
    for (const name of c.name !== undefined ? [c.name] : namesOf(this.roots, c.id)) releaseName(this.roots, name, c.id);
    const trash = layout.containerTrash(this.roots, c.id);
    try {
      fs.renameSync(this.dir(c.id), trash);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    deleteLeftover(trash); // its lock held (the trash is the locked directory): sweep() leaves it to us
    removeContainerLockFile(this.roots, c.id);
    releaseMounts(this.roots, c.id, c.config?.mounts, volumes || c.autoRemove === true);
  }

  /**
   * Finishes what killed commands left behind: the trash of removals, the staging directories of
   * creations that died, older boxes' lock files of containers that are gone and the volume uses
   * they left, and the shared tmpfs volumes of containers whose end nobody recorded. Housekeeping:
   * it never fails the command that does it (what it cannot do now, the next one tries again).
   */
  sweep(): void {
    const containers = layout.containers(this.roots);
    for (const entry of listDir(containers)) {
      const id = entry.replace(/^\.(new|trash)-/, '');
      if (id === entry || !CONTAINER_ID_RE.test(id)) continue;
      // a removal or creation still at work holds the directory's lock: only a dead one's leftovers go
      removeUnlocked(path.join(containers, entry), DIRECTORY_LOCK);
    }
    for (const file of listDir(lockPaths.containers(this.roots))) {
      const id = file.replace(/\.lock$/, '');
      // an older box's, of a container that is gone (a live one's goes with its removal)
      if (CONTAINER_ID_RE.test(id) && !fs.lstatSync(this.dir(id), { throwIfNoEntry: false })) {
        removeUnlocked(path.join(lockPaths.containers(this.roots), file));
      }
    }
    try {
      sweepStaleNames(this.roots);
    } catch {
      /* housekeeping: see above */
    }
    reconcileIfIdle(this.roots); // volume uses of creations killed before their record
    try {
      reconcileSharedTmpfs(this.roots, (id) => this.isRunning(id)); // tmpfs volumes of containers killed
    } catch {
      /* housekeeping: see above */
    }
  }

  /** Whether container `id`'s record says it runs (a damaged one counts: nothing of it is let go). */
  isRunning(id: string): boolean {
    const c = this.read(id);
    return c !== undefined && (isDamaged(c) || c.state.status === 'running');
  }
}

/** Deletes `entry` (a directory or a lock file) under its own lock, if nobody holds that: a dead command's. */
function removeUnlocked(entry: string, openFlags?: number): void {
  let lock: ReturnType<typeof tryLockExistingFile> = 'busy';
  try {
    lock = tryLockExistingFile(entry, openFlags);
    if (lock !== 'busy' && lock !== 'absent') deleteLeftover(entry);
  } catch {
    /* housekeeping: see sweep() */
  } finally {
    if (typeof lock !== 'string') lock.release();
  }
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return []; // none yet, or unreadable: scan() reports the latter
  }
}

/** Deletes hidden trash; a concurrent sweep may be deleting it too, and what is left the next one does. */
function deleteLeftover(dir: string): void {
  try {
    removeTree(dir);
  } catch {
    /* see above */
  }
}
