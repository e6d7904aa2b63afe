// What every checker asks about this storage root: its container records, which containers are
// live (running, or waiting to restart), and which container ids the root ever knew (records,
// runtime directories, lock files, the event log), so an object named by an id is attributed to
// this root and never to another root on the same host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLockHeld, Lock } from '../../image/locks';
import { CONTAINER_ID_RE, featurePaths, layout, lockPaths, Roots } from '../../paths';
import type { ContainerRecord } from '../../model';
import { tryLockContainer } from '../container-lock';
import { ContainerStore, DamagedContainer } from '../containers';
import { runtimeEntryId } from '../monitor-state';

export class CheckContext {
  readonly store: ContainerStore;
  private scanned: { records: ContainerRecord[]; damaged: DamagedContainer[] } | undefined;
  private known: Set<string> | undefined;

  constructor(readonly roots: Roots) {
    this.store = new ContainerStore(roots);
  }

  /** The usable records, read once per check (fix() reads again under locks). */
  records(): ContainerRecord[] {
    this.scanned ??= this.store.scan();
    return this.scanned.records;
  }

  /** Container directories whose record cannot be read back (truncated, garbled, forged). */
  damaged(): DamagedContainer[] {
    this.records();
    return this.scanned!.damaged;
  }

  record(id: string): ContainerRecord | undefined {
    return this.records().find((r) => r.id === id);
  }

  /** A container directory exists for the id (a damaged record counts: `rm -f` removes it). */
  exists(id: string): boolean {
    return CONTAINER_ID_RE.test(id) && fs.existsSync(layout.container(this.roots, id));
  }

  /** Running, paused or waiting to restart: its kernel objects and processes are in use. */
  isLive(id: string): boolean {
    const r = this.record(id);
    return r !== undefined && (r.state.status === 'running' || r.state.restarting === true);
  }

  /**
   * Live, or held by a command right now: its lock (a start, a stop, a removal at work) or the
   * owner lock a foreground `box run` takes before its container starts.
   */
  inUse(id: string): boolean {
    return this.isLive(id) || this.isDamaged(id) || this.tryLockContainerBusy(id) || this.ownerHeld(id);
  }

  /** Its record cannot be read: what it holds is reported with it, and goes with `box rm -f`. */
  isDamaged(id: string): boolean {
    return this.damaged().some((d) => d.id === id);
  }

  /** Whether a foreground `box run` holds the container's owner lock (from before its start to its end). */
  ownerHeld(id: string): boolean {
    return isLockHeld(path.join(layout.runContainer(this.roots, id), 'owner.lock'));
  }

  /** Every container id this root knows of, live or gone. */
  knownIds(): Set<string> {
    if (this.known) return this.known;
    const ids = new Set<string>(this.store.ids());
    for (const n of readdir(layout.runContainers(this.roots))) {
      const id = runtimeEntryId(n);
      if (id) ids.add(id);
    }
    for (const n of readdir(lockPaths.containers(this.roots))) {
      const id = n.replace(/\.lock$/, '');
      if (CONTAINER_ID_RE.test(id)) ids.add(id);
    }
    // the event log names every container the root created, --rm ones and failed starts included
    const events = readText(featurePaths.events(this.roots));
    for (const m of events.matchAll(/"id":"([0-9a-f]{64})"/g)) ids.add(m[1]);
    this.known = ids;
    return ids;
  }

  /** The known id starting with `prefix` (a veth names 10 hex digits of one), if exactly one does. */
  idByPrefix(prefix: string): string | undefined {
    const matches = [...this.knownIds()].filter((id) => id.startsWith(prefix));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /**
   * The container's lock if nobody holds it ('busy': a command works on the container right now,
   * so what it holds is not a leftover); 'absent' when the container is nowhere in its life.
   */
  tryLockContainer(id: string): Lock | 'busy' | 'absent' {
    return tryLockContainer(this.roots, id);
  }

  /** Whether a command holds the container's lock now (the lock is taken to look, and released). */
  tryLockContainerBusy(id: string): boolean {
    const lock = this.tryLockContainer(id);
    if (lock === 'busy') return true;
    if (lock !== 'absent') lock.release();
    return false;
  }
}

export function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Runs fn unless a command holds the container's lock; returns false when it was busy. */
export function withContainerLockIfFree(ctx: CheckContext, id: string, fn: () => void): boolean {
  const lock = ctx.tryLockContainer(id);
  if (lock === 'busy') return false;
  try {
    fn();
  } finally {
    if (lock !== 'absent') lock.release();
  }
  return true;
}

/** How long a start or an end in flight may take to settle what it holds (a record, a cgroup, a veth). */
export const SETTLE_MS = 3000;

/**
 * The items that `stillLeft` keeps throughout a bounded wait (it is given the items left, and
 * returns those still leftovers, read afresh): what a start or an end in flight holds for a
 * moment (a created container's cgroup and veth before its record says running) is dropped as
 * soon as it settles; a leftover persists. Returns at once when there is none.
 */
export async function persisting<T>(items: T[], stillLeft: (items: T[]) => T[], ms = SETTLE_MS): Promise<T[]> {
  let left = items.length ? stillLeft(items) : items;
  for (const deadline = Date.now() + ms; left.length && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
    left = stillLeft(left);
  }
  return left;
}
