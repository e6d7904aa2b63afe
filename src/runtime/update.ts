// `box update`: changes the resource limits of a container. The new limits are the old ones with
// the given flags applied, validated as `run` validates them (checkLimits), written to the running
// container's cgroup and saved in its record (a stopped container gets them at its next start).
import { BoxError } from '../errors';
import { CgroupLimits, checkLimits, containerCgroup, detectCgroups } from '../linux/cgroups';
import { Roots } from '../paths';
import { ContainerStore } from './containers';
import { appendEvent } from './events';
import { lockContainer, refresh } from './lifecycle';
import { ContainerRecord } from '../model';

/** Applies an update to the current limits; refuses combinations Docker refuses. */
export function mergeLimits(old: CgroupLimits, change: CgroupLimits): CgroupLimits {
  const merged: CgroupLimits = { ...old, ...change };
  if (change.memory !== undefined && change.memorySwap === undefined && old.memorySwap !== undefined && old.memorySwap !== -1 && change.memory > old.memorySwap) {
    throw new BoxError('--memory is larger than the container\'s --memory-swap (memory plus swap): update --memory-swap at the same time');
  }
  if (change.cpuQuota !== undefined && change.cpuPeriod === undefined && old.cpuPeriod === undefined) merged.cpuPeriod = 100000;
  return merged;
}

export async function updateContainer(roots: Roots, store: ContainerStore, record: ContainerRecord, change: CgroupLimits, warn: (m: string) => void): Promise<void> {
  await refresh(roots, store, record); // (takes the lock itself when the monitor died)
  const lock = await lockContainer(roots, record.id);
  try {
    const cur = store.get(record.id);
    if (!cur) throw new BoxError(`no such container: ${record.name}`);
    const merged = mergeLimits(cur.config.limits, change);
    const warnings = checkLimits(detectCgroups(), merged);
    for (const w of warnings) warn(w);
    if (cur.state.status === 'running') containerCgroup(detectCgroups(), cur.id).writeLimits(merged, change);
    cur.config.limits = merged;
    store.save(cur);
    appendEvent(roots, 'update', cur);
  } finally {
    lock.release();
  }
}
