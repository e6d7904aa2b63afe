// Volumes on disk, under the storage root: volumes/<name>/volume.json (the record),
// volumes/<name>/_data (the local driver's directory) and volumes/<name>/uses/<container id> (one
// empty file per container whose record mounts the volume). A volume appears and disappears with
// one rename(2) each (built in .new-<name>-<token>, deleted through .trash-<name>-<token>), so a box
// killed midway leaves a complete volume or hidden leftovers that the next prune or rm sweeps.
//
// Use tracking follows the image store's lock discipline (src/image/store-lock.ts): a container's
// creation holds the store's lock shared from resolving its image until its record exists, and
// registers its uses meanwhile; whatever deletes volumes (rm, prune) holds the lock exclusively, so
// it never sees a use registered for a record not yet written, and a use whose container has no
// record then is a dead command's: it is dropped (reconcile; also by ps, volume ls and system df
// when nobody holds the lock: reconcileIfIdle). An anonymous volume going with its
// container is removed without the lock (removeIfUnused): moved away first, then its uses looked
// at, while a use checks the volume is still there once registered (addUse).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { deleteLockFile, Lock, tryLockFile } from '../image/locks';
import { CONTAINER_ID_RE, checkedVolumeName, layout, lockPaths, Roots, VOLUME_NAME_RE } from '../paths';
import { mkdirp, readJson, writeJsonAtomic } from '../util/fs';
import { ownedName, ownerAlive, ownerOf } from '../util/owner';
import { randomHex } from '../util/random';
import { openNoFollow } from '../util/safe-open';
import { bindDevice, checkBindSource, resolveHostPath } from './host-paths';
import { isoTime } from '../util/iso-time';

export interface VolumeRecord {
  name: string;
  driver: 'local';
  /** ISO time */
  createdAt: string;
  labels: Record<string, string>;
  /** the local driver's options: type, device, o */
  options: Record<string, string>;
  /** made for one container (-v /path, an image's VOLUME): removed with it by run --rm and rm -v */
  anonymous: boolean;
}

export interface NewVolume {
  labels?: Record<string, string>;
  options?: Record<string, string>;
  anonymous?: boolean;
}

/** A name for an anonymous volume: 64 hex digits, as Docker's. */
export function anonymousVolumeName(): string {
  return randomHex(32);
}

const NEW = '.new-';
const TRASH = '.trash-';
const DRIVER_OPTIONS = ['type', 'device', 'o'];

/** Checks the local driver's options as Docker does: only type, device and o, type with device. */
export function checkDriverOptions(options: Record<string, string>): void {
  for (const key of Object.keys(options)) {
    if (!DRIVER_OPTIONS.includes(key)) {
      throw new BoxError(`invalid option key: "${key}": the local driver takes type, device and o`);
    }
  }
  if (options.device !== undefined && options.type === undefined) {
    throw new BoxError('missing required option: "type" (the local driver needs it with device)');
  }
  if (options.type !== undefined && options.type !== 'tmpfs' && options.device === undefined) {
    throw new BoxError('missing required option: "device" (the local driver needs it with a type other than tmpfs)');
  }
  if (options.device !== undefined && !path.isAbsolute(options.device) && options.type !== 'tmpfs') {
    throw new BoxError(`invalid device "${options.device}": give an absolute host path`);
  }
}

export class VolumeStore {
  constructor(readonly roots: Roots) {}

  dir(name: string): string {
    return layout.volume(this.roots, name);
  }

  /** The local driver's directory: what a plain volume mounts. */
  dataDir(name: string): string {
    return path.join(this.dir(name), '_data');
  }

  private usesDir(name: string): string {
    return path.join(this.dir(name), 'uses');
  }

  get(name: string): VolumeRecord | undefined {
    if (!VOLUME_NAME_RE.test(name)) return undefined;
    let v: VolumeRecord;
    try {
      v = readJson<VolumeRecord>(path.join(this.dir(name), 'volume.json'));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      if (err instanceof SyntaxError) throw damaged(this.dir(name), 'volume.json is not valid JSON');
      throw err;
    }
    const strings = (o: unknown) =>
      typeof o === 'object' && o !== null && Object.values(o).every((x) => typeof x === 'string');
    if (v?.name !== name || !strings(v.labels) || !strings(v.options) || typeof v.anonymous !== 'boolean') {
      throw damaged(this.dir(name), 'volume.json does not describe this volume');
    }
    return v;
  }

  /** get() or Docker's error. */
  find(name: string): VolumeRecord {
    const v = this.get(name);
    if (!v) throw new BoxError(`no such volume: ${name}`);
    return v;
  }

  names(): string[] {
    try {
      return fs.readdirSync(layout.volumes(this.roots)).filter((n) => VOLUME_NAME_RE.test(n));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  list(): VolumeRecord[] {
    return this.names()
      .map((n) => this.get(n))
      .filter((v): v is VolumeRecord => v !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Creates the volume, or returns the existing one of that name (Docker's `volume create` of a
   * name that exists is not an error, unless it asks for other driver options).
   */
  create(name: string, opts: NewVolume = {}): { volume: VolumeRecord; created: boolean } {
    checkedVolumeName(name);
    const options = opts.options ?? {};
    checkDriverOptions(options);
    const device = bindDevice(options);
    if (device) checkBindSource(this.roots, device, resolveHostPath(device));
    const existing = this.get(name);
    if (existing) return { volume: sameOptions(existing, options), created: false };
    const record: VolumeRecord = {
      name,
      driver: 'local',
      createdAt: isoTime(),
      labels: opts.labels ?? {},
      options,
      anonymous: opts.anonymous ?? false,
    };
    mkdirp(layout.volumes(this.roots), 0o700);
    const staging = path.join(layout.volumes(this.roots), ownedName(NEW + name, randomHex(4)));
    try {
      fs.mkdirSync(staging, { mode: 0o700 });
      // _data is the root of what containers see: 0755 like a fresh directory in an image
      fs.mkdirSync(path.join(staging, '_data'), { mode: 0o755 });
      fs.chmodSync(path.join(staging, '_data'), 0o755);
      fs.mkdirSync(path.join(staging, 'uses'), { mode: 0o700 });
      writeJsonAtomic(path.join(staging, 'volume.json'), record);
      fs.renameSync(staging, this.dir(name));
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true });
      const raced = this.get(name); // created by another command meanwhile
      if (raced) return { volume: sameOptions(raced, options), created: false };
      throw err;
    }
    return { volume: record, created: true };
  }

  /** The containers whose records mount the volume (as registered; see reconcile). */
  users(name: string): string[] {
    try {
      return fs.readdirSync(this.usesDir(name)).filter((n) => CONTAINER_ID_RE.test(n));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  /**
   * Registers container `id` as a user of the volume; the caller holds the store's lock (shared).
   * Then checks that the volume is still there: a removal without the lock (releaseMounts) moves
   * the volume away first and looks for users after, so one of the two always sees the other.
   */
  addUse(name: string, id: string): void {
    if (!CONTAINER_ID_RE.test(id)) throw new Error(`invalid container id ${id}`);
    const gone = () => new BoxError(`volume ${name} was removed meanwhile: try again`);
    let fd: number;
    try {
      fd = openNoFollow(path.join(this.usesDir(name), id), fs.constants.O_WRONLY | fs.constants.O_CREAT);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw gone();
      throw err;
    }
    fs.closeSync(fd);
    if (!fs.existsSync(path.join(this.dir(name), 'volume.json'))) {
      this.dropUse(name, id);
      throw gone();
    }
  }

  dropUse(name: string, id: string): void {
    if (!VOLUME_NAME_RE.test(name) || !CONTAINER_ID_RE.test(id)) return;
    fs.rmSync(path.join(this.usesDir(name), id), { force: true });
  }

  /** Deletes the volume (refused while a container uses it). */
  remove(name: string): void {
    const users = this.users(name);
    if (users.length) {
      const list = users.map((u) => u.slice(0, 12)).join(', ');
      throw new BoxError(`remove ${name}: volume is in use - [${list}]: remove those containers first`);
    }
    if (!this.removeIfUnused(name)) throw new BoxError(`remove ${name}: volume is in use: try again`);
  }

  /**
   * Deletes the volume if no container uses it; false if one does. Safe without the store's lock:
   * the volume is moved away first, then its uses are looked at (see addUse), and put back if any.
   */
  removeIfUnused(name: string): boolean {
    const trash = path.join(layout.volumes(this.roots), ownedName(TRASH + name, randomHex(4)));
    try {
      fs.renameSync(this.dir(name), trash);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return true;
      throw err;
    }
    const uses = fs.readdirSync(path.join(trash, 'uses')).filter((n) => CONTAINER_ID_RE.test(n));
    if (uses.length) {
      fs.renameSync(trash, this.dir(name));
      return false;
    }
    fs.rmSync(trash, { recursive: true, force: true });
    // its shared tmpfs's lock (shared-tmpfs.ts), taken first: a holder now finds the file gone
    deleteLockFile(lockPaths.tmpfsVolume(this.roots, name));
    return true;
  }

  /**
   * With the store's lock held exclusively: drops uses by containers that have no record (their
   * creation or removal was killed) and the leftovers of killed volume creations and removals.
   */
  reconcile(): void {
    for (const { name, id } of this.usesWithoutRecord()) this.dropUse(name, id);
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(layout.volumes(this.roots));
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.startsWith(NEW) && !e.startsWith(TRASH)) continue;
      const owner = ownerOf(e);
      if (owner && ownerAlive(owner)) continue;
      const at = path.join(layout.volumes(this.roots), e);
      // a removal killed after it moved a volume away to look at its uses, and found one
      const name = /^\.trash-(.+)-\d+\.\d+-[0-9a-f]+$/.exec(e)?.[1];
      if (name && VOLUME_NAME_RE.test(name) && !fs.existsSync(this.dir(name)) && this.usedIn(at)) {
        fs.renameSync(at, this.dir(name));
        continue;
      }
      fs.rmSync(at, { recursive: true, force: true });
    }
  }

  /** Uses by containers that have no record: a creation's before its record exists, or a dead one's. */
  usesWithoutRecord(): Array<{ name: string; id: string }> {
    const recorded = (id: string) => fs.existsSync(layout.container(this.roots, id));
    return this.names().flatMap((name) =>
      this.users(name)
        .filter((id) => !recorded(id))
        .map((id) => ({ name, id })),
    );
  }

  /** Whether a volume directory (also one moved away) has a use by a container that exists. */
  private usedIn(dir: string): boolean {
    let uses: string[] = [];
    try {
      uses = fs.readdirSync(path.join(dir, 'uses'));
    } catch {
      return false;
    }
    return uses.some((id) => CONTAINER_ID_RE.test(id) && fs.existsSync(layout.container(this.roots, id)));
  }

  /** Bytes in the volume's directory (what prune reports as reclaimed). */
  size(name: string): number {
    return treeSize(this.dataDir(name));
  }
}

/**
 * reconcile(), if nobody holds the store's lock now: then no creation is between registering a use
 * and writing its record, and a use without a record is a killed command's. The commands that show
 * or judge uses without deleting volumes (ps, volume ls, system df) call it, so a killed `run` does
 * not keep a volume in use; beside a holder they leave it to a later command. Never fails them.
 */
export function reconcileIfIdle(roots: Roots): void {
  const store = new VolumeStore(roots);
  let lock: Lock | undefined;
  try {
    if (!store.names().length) return; // (and no lock file made in a root without volumes)
    lock = tryLockFile(lockPaths.store(roots));
    if (lock) store.reconcile();
  } catch {
    /* housekeeping: the next command tries again */
  } finally {
    lock?.release();
  }
}

function damaged(dir: string, why: string): BoxError {
  return new BoxError(`the volume at ${dir} is damaged (${why}): remove that directory`);
}

function sameOptions(existing: VolumeRecord, options: Record<string, string>): VolumeRecord {
  const asked = JSON.stringify(Object.entries(options).sort());
  if (Object.keys(options).length && asked !== JSON.stringify(Object.entries(existing.options).sort())) {
    throw new BoxError(
      `volume ${existing.name} already exists with other options: remove it first or use another name`,
    );
  }
  return existing;
}

function treeSize(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += treeSize(p);
    else if (e.isFile()) total += fs.lstatSync(p).size;
  }
  return total;
}
