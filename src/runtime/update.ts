// `box update`: changes the resource limits of a container. The new limits are the old ones with
// the given flags applied, validated as `run` validates them (checkLimits), written to the running
// container's cgroup and saved in its record (a stopped container gets them at its next start).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { CgroupLimits, checkLimits, detectCgroups, sharesToWeight } from '../linux/cgroups';
import { Roots } from '../paths';
import { ContainerStore } from './containers';
import { containerCgroup } from './create';
import { appendEvent } from './events';
import { lockContainer, refresh } from './lifecycle';
import { ContainerRecord } from './model';

/** Applies an update to the current limits; refuses combinations Docker refuses. */
export function mergeLimits(old: CgroupLimits, change: CgroupLimits): CgroupLimits {
  const merged: CgroupLimits = { ...old, ...change };
  if (change.memory !== undefined && change.memorySwap === undefined && old.memorySwap !== undefined && old.memorySwap !== -1 && change.memory > old.memorySwap) {
    throw new BoxError('--memory is larger than the container\'s --memory-swap (memory plus swap): update --memory-swap at the same time');
  }
  if (change.cpuQuota !== undefined && change.cpuPeriod === undefined && old.cpuPeriod === undefined) merged.cpuPeriod = 100000;
  return merged;
}

function write(dir: string | undefined, file: string, value: string | number): void {
  if (dir === undefined) return;
  try {
    fs.writeFileSync(path.join(dir, file), String(value));
  } catch (err) {
    throw new BoxError(`the kernel refused ${file} = ${value} (${errnoCode(err) ?? (err as Error).message})`);
  }
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the changed limits into a running container's cgroup, in an order the kernel accepts. */
export function writeLimitChanges(record: ContainerRecord, merged: CgroupLimits, change: CgroupLimits): void {
  const cg = containerCgroup(detectCgroups(), record.id);
  const memChanged = change.memory !== undefined || change.memorySwap !== undefined;
  const cpuChanged = change.cpuQuota !== undefined || change.cpuPeriod !== undefined;
  const unlimited = (n: number | undefined) => (n === undefined || n <= 0 ? 'max' : n);
  if (cg.host.version === 2) {
    const dir = cg.dirs[0];
    if (memChanged && merged.memory !== undefined) {
      write(dir, 'memory.max', merged.memory);
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) {
        const total = merged.memorySwap ?? merged.memory * 2;
        write(dir, 'memory.swap.max', total === -1 ? 'max' : total - merged.memory);
      }
    }
    if (change.memoryReservation !== undefined) write(dir, 'memory.low', change.memoryReservation);
    if (cpuChanged) {
      const quota = merged.cpuQuota === undefined || merged.cpuQuota === -1 ? 'max' : String(merged.cpuQuota);
      write(dir, 'cpu.max', `${quota} ${merged.cpuPeriod ?? 100000}`);
    }
    if (change.cpuShares) write(dir, 'cpu.weight', sharesToWeight(change.cpuShares));
    if (change.cpusetCpus !== undefined) write(dir, 'cpuset.cpus', change.cpusetCpus);
    if (change.pidsLimit !== undefined) write(dir, 'pids.max', unlimited(change.pidsLimit));
    return;
  }
  const mem = cg.dirFor('memory');
  if (memChanged && mem !== undefined && merged.memory !== undefined) {
    const memsw = path.join(mem, 'memory.memsw.limit_in_bytes');
    if (fs.existsSync(memsw)) {
      const swap = merged.memorySwap ?? merged.memory * 2;
      // memory may never exceed memory+swap: raise memsw first when growing, lower it last when shrinking.
      const currentSwap = readNumber(memsw) ?? 0;
      if (swap === -1 || merged.memory > currentSwap) {
        write(mem, 'memory.memsw.limit_in_bytes', swap);
        write(mem, 'memory.limit_in_bytes', merged.memory);
      } else {
        write(mem, 'memory.limit_in_bytes', merged.memory);
        write(mem, 'memory.memsw.limit_in_bytes', swap);
      }
    } else write(mem, 'memory.limit_in_bytes', merged.memory);
  }
  if (change.memoryReservation !== undefined) write(mem, 'memory.soft_limit_in_bytes', change.memoryReservation);
  if (cpuChanged) {
    write(cg.dirFor('cpu'), 'cpu.cfs_period_us', merged.cpuPeriod ?? 100000);
    write(cg.dirFor('cpu'), 'cpu.cfs_quota_us', merged.cpuQuota ?? -1);
  }
  if (change.cpuShares) write(cg.dirFor('cpu'), 'cpu.shares', change.cpuShares);
  if (change.cpusetCpus !== undefined) write(cg.dirFor('cpuset'), 'cpuset.cpus', change.cpusetCpus);
  if (change.pidsLimit !== undefined) write(cg.dirFor('pids'), 'pids.max', unlimited(change.pidsLimit));
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
    if (cur.state.status === 'running') writeLimitChanges(cur, merged, change);
    cur.config.limits = merged;
    store.save(cur);
    appendEvent(roots, 'update', cur);
  } finally {
    lock.release();
  }
}
