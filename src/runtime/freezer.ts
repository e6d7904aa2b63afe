// Pausing containers with the cgroup freezer: cgroup v1's freezer controller (freezer.state
// FROZEN/THAWED, passing through FREEZING) or cgroup v2's cgroup.freeze (with the settled state in
// cgroup.events "frozen 0|1"). The container's monitor is outside the cgroup, so it keeps running.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { ContainerCgroup, containerCgroup, detectCgroups } from '../linux/cgroups';
import { Roots } from '../paths';
import { ContainerStore } from './containers';
import { appendEvent } from './events';
import { lockContainer, refresh } from './lifecycle';
import { ContainerRecord } from './model';

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The cgroup's freezer state; undefined when the cgroup (or the v1 freezer hierarchy) is absent. */
export function freezerState(cgroup: ContainerCgroup): FreezerState | undefined {
  if (cgroup.host.version === 2) {
    const dir = cgroup.dirs[0];
    const events = read(path.join(dir, 'cgroup.events'));
    if (events === undefined) return undefined;
    if (/^frozen 1$/m.test(events)) return 'frozen';
    return read(path.join(dir, 'cgroup.freeze'))?.trim() === '1' ? 'freezing' : 'thawed';
  }
  const dir = cgroup.dirFor('freezer');
  const state = dir === undefined ? undefined : read(path.join(dir, 'freezer.state'))?.trim();
  if (state === 'FROZEN') return 'frozen';
  if (state === 'FREEZING') return 'freezing';
  return state === 'THAWED' ? 'thawed' : undefined;
}

function writeFreezer(cgroup: ContainerCgroup, freeze: boolean): void {
  if (cgroup.host.version === 2) fs.writeFileSync(path.join(cgroup.dirs[0], 'cgroup.freeze'), freeze ? '1' : '0');
  else {
    const dir = cgroup.dirFor('freezer');
    if (!dir) throw new BoxError('pausing needs the freezer cgroup controller, which this host does not mount');
    fs.writeFileSync(path.join(dir, 'freezer.state'), freeze ? 'FROZEN' : 'THAWED');
  }
}

const cgroupOf = (record: ContainerRecord) => containerCgroup(detectCgroups(), record.id);

/** True if the container's cgroup is frozen (or being frozen). */
export function isPaused(record: ContainerRecord): boolean {
  if (record.state.status !== 'running') return false;
  const s = freezerState(cgroupOf(record));
  return s === 'frozen' || s === 'freezing';
}

/** Thaws a frozen container (stop and kill need it to run again to handle signals). */
export function thaw(record: ContainerRecord): void {
  const cgroup = cgroupOf(record);
  const s = freezerState(cgroup);
  if (s === undefined || s === 'thawed') return;
  try {
    writeFreezer(cgroup, false);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Freezes the cgroup and waits until the kernel reports it frozen. A freeze can stay in FREEZING
 * while a task is in an uninterruptible sleep; the request is repeated, and after the deadline
 * the cgroup is thawed again and the pause fails rather than leaving it half-frozen.
 */
export async function freeze(cgroup: ContainerCgroup, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    writeFreezer(cgroup, true);
    if (freezerState(cgroup) === 'frozen') return;
    if (Date.now() >= deadline) {
      writeFreezer(cgroup, false);
      throw new BoxError('the container did not freeze in time (a process is stuck in the kernel): it was left running');
    }
    await delay(Math.min(1 + i, 20));
  }
}

async function changeFreezer(roots: Roots, store: ContainerStore, record: ContainerRecord, pause: boolean): Promise<void> {
  await refresh(roots, store, record); // (takes the lock itself when the monitor died)
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id) ?? { ...record, state: { status: 'exited' as const } };
    if (cur.state.status !== 'running') throw new BoxError(`container ${cur.id.slice(0, 12)} is not running`);
    const cgroup = cgroupOf(cur);
    const state = freezerState(cgroup);
    if (pause) {
      if (state === 'frozen') throw new BoxError(`container ${cur.id.slice(0, 12)} is already paused`);
      await freeze(cgroup);
    } else {
      if (state !== 'frozen' && state !== 'freezing') throw new BoxError(`container ${cur.id.slice(0, 12)} is not paused`);
      writeFreezer(cgroup, false);
    }
    appendEvent(roots, pause ? 'pause' : 'unpause', cur);
  } finally {
    lock.release();
  }
}

export function pauseContainer(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<void> {
  return changeFreezer(roots, store, record, true);
}

export function unpauseContainer(roots: Roots, store: ContainerStore, record: ContainerRecord): Promise<void> {
  return changeFreezer(roots, store, record, false);
}
