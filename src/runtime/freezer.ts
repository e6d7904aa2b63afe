// Pausing and unpausing containers (the cgroup freezer itself is linux/freezer.ts). The
// container's monitor is outside the cgroup, so it keeps running while the container is frozen.
import { BoxError } from '../errors';
import { containerCgroup, detectCgroups } from '../linux/cgroups';
import { freeze } from '../linux/freezer';
import { Roots } from '../paths';
import { ContainerStore } from './containers';
import { appendEvent } from './events';
import { lockContainer, refresh } from './lifecycle';
import { ContainerRecord } from '../model';

const cgroupOf = (record: ContainerRecord) => containerCgroup(detectCgroups(), record.id);

/** True if the container's cgroup is frozen (or being frozen). */
export function isPaused(record: ContainerRecord): boolean {
  if (record.state.status !== 'running') return false;
  const s = cgroupOf(record).freezerState();
  return s === 'frozen' || s === 'freezing';
}

async function changeFreezer(
  roots: Roots,
  store: ContainerStore,
  record: ContainerRecord,
  pause: boolean,
): Promise<void> {
  await refresh(roots, store, record); // (takes the lock itself when the monitor died)
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id) ?? { ...record, state: { status: 'exited' as const } };
    if (cur.state.status !== 'running') throw new BoxError(`container ${cur.id.slice(0, 12)} is not running`);
    const cgroup = cgroupOf(cur);
    const state = cgroup.freezerState();
    if (pause) {
      if (state === 'frozen') throw new BoxError(`container ${cur.id.slice(0, 12)} is already paused`);
      await freeze(cgroup);
    } else {
      if (state !== 'frozen' && state !== 'freezing')
        throw new BoxError(`container ${cur.id.slice(0, 12)} is not paused`);
      cgroup.requestFreeze(false);
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
