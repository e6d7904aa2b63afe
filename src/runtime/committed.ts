// What the containers recorded on this host have reserved (memory, CPU, pids), for admission
// policies that keep a host within its capacity (policy/admission.ts reads it under its lock).
import type { CgroupLimits } from '../linux/cgroups';
import { Roots } from '../paths';
import type { Committed } from '../policy/types';
import { ContainerStore } from './containers';

/** Counts containers created, running or restarting; `except` is the container being admitted. */
export function committedResources(roots: Roots, except: string): Committed {
  const c: Committed = { containers: 0, memory: 0n, unlimitedMemory: 0, millicpus: 0n, unlimitedCpu: 0, pids: 0n };
  for (const r of new ContainerStore(roots).list()) {
    if (r.id === except) continue;
    const status = r.state.status;
    if (status !== 'running' && status !== 'created' && !r.state.restarting) continue;
    commit(c, r.config.limits);
  }
  return c;
}

/** Adds one container's limits to the sums (box-runc's containers are counted with it too). */
export function commit(c: Committed, l: CgroupLimits): void {
  c.containers++;
  if (l.memory !== undefined) c.memory += BigInt(l.memory);
  else c.unlimitedMemory++;
  if (l.cpuQuota !== undefined && l.cpuQuota > 0) {
    const period = BigInt(l.cpuPeriod ?? 100000);
    c.millicpus += (BigInt(l.cpuQuota) * 1000n + period - 1n) / period;
  } else c.unlimitedCpu++;
  if (l.pidsLimit !== undefined && l.pidsLimit > 0) c.pids += BigInt(l.pidsLimit);
}
