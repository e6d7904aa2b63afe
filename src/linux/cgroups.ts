// Container cgroups on both hierarchies, the one door to them: cgroup v1 (controllers mounted one
// per directory under /sys/fs/cgroup, as on this machine) or cgroup v2 (one unified tree with
// cgroup.controllers, as on most users' machines) is detected at run time, and each container's
// cgroup is a CgroupManager of the matching implementation (cgroup-v1.ts, cgroup-v2.ts). Limits
// are validated against what the host offers before anything is created, so a refused limit
// leaves nothing behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { expandCpuList } from '../util/units';
import { readWords } from './cgroup-files';
import { hostHugepageSizes } from './hugepages';
import type { CgroupHost, CgroupLimits, CgroupManager } from './cgroup-manager';
import { CgroupV1 } from './cgroup-v1';
import { CgroupV2 } from './cgroup-v2';

export type { CgroupHost, CgroupLimits, CgroupManager, FreezerState, InitCgroup } from './cgroup-manager';

const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'freezer', 'devices', 'blkio'];

/**
 * Finds the cgroup hierarchies. BOX_CGROUP_V2_MOUNT forces the v2 code path at the given cgroup2
 * mount (tests use it on hosts whose controllers are bound to v1).
 */
export function detectCgroups(env: NodeJS.ProcessEnv = process.env): CgroupHost {
  const forced = env.BOX_CGROUP_V2_MOUNT;
  const base = '/sys/fs/cgroup';
  if (forced || fs.existsSync(path.join(base, 'cgroup.controllers'))) {
    const unified = forced ?? base;
    const available = readWords(path.join(unified, 'cgroup.controllers'));
    return { version: 2, unified, mounts: new Map(available.map((c) => [c, unified])) };
  }
  const mounts = new Map<string, string>();
  for (const c of V1_CONTROLLERS) {
    const dir = path.join(base, c);
    if (fs.existsSync(path.join(dir, 'cgroup.procs'))) mounts.set(c, dir);
  }
  return { version: 1, mounts, hugetlb: v1Hugetlb(base) };
}

/** hugetlb on a v1 host: its own hierarchy, else the hybrid cgroup2 mount if that offers it. */
function v1Hugetlb(base: string): CgroupHost['hugetlb'] {
  const own = path.join(base, 'hugetlb');
  if (fs.existsSync(path.join(own, 'cgroup.procs'))) return { mount: own, cgroup2: false };
  const unified = path.join(base, 'unified');
  if (readWords(path.join(unified, 'cgroup.controllers')).includes('hugetlb')) return { mount: unified, cgroup2: true };
  return undefined;
}

/** Refuses hugetlb limits the host cannot enforce: no controller, or a page size it does not have (as runc). */
function checkHugetlb(host: CgroupHost, limits: Record<string, number>): void {
  const sizes = Object.keys(limits);
  if (!sizes.length) return;
  if (host.version === 2 ? !host.mounts.has('hugetlb') : host.hugetlb === undefined) {
    throw new BoxError(
      `hugepageLimits need the hugetlb cgroup controller, which this host does not enable (cgroup v${host.version})`,
    );
  }
  const offered = hostHugepageSizes();
  for (const size of sizes) {
    if (!offered.includes(size)) {
      throw new BoxError(
        `hugepageLimits: page size ${size} is not one this host has (${offered.join(', ') || 'none'})`,
      );
    }
  }
}

/** Refuses limits the host cannot enforce; returns warnings for those Docker merely warns about. */
export function checkLimits(host: CgroupHost, limits: CgroupLimits): string[] {
  const need = (controller: string, flag: string) => {
    if (!host.mounts.has(controller)) {
      throw new BoxError(
        `${flag} needs the ${controller} cgroup controller, which this host does not enable (cgroup v${host.version})`,
      );
    }
  };
  if (limits.memory !== undefined || limits.memoryReservation !== undefined) need('memory', '--memory');
  if (limits.memorySwap !== undefined) need('memory', '--memory-swap');
  if (limits.cpuQuota !== undefined || limits.cpuPeriod !== undefined || limits.cpuShares !== undefined)
    need('cpu', '--cpus/--cpu-quota/--cpu-shares');
  if (limits.cpusetCpus !== undefined) {
    need('cpuset', '--cpuset-cpus');
    const online = expandCpuList(fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
    const bad = expandCpuList(limits.cpusetCpus).filter((c) => !online.includes(c));
    if (bad.length)
      throw new BoxError(
        `--cpuset-cpus ${limits.cpusetCpus}: CPUs ${bad.join(',')} are not available (online: ${online.join(',')})`,
      );
  }
  if (limits.pidsLimit !== undefined) need('pids', '--pids-limit');
  if (limits.hugetlb) checkHugetlb(host, limits.hugetlb);
  if (limits.unified && host.version !== 2) {
    // runc's refusal: the keys name cgroup v2 files, which a v1-managed host's cgroups lack
    throw new BoxError('linux.resources.unified: cannot use unified on cgroup v1 (this host manages cgroups with v1)');
  }
  if (limits.ioThrottle?.length) need(host.version === 2 ? 'io' : 'blkio', 'blockIO throttles');
  if (limits.memory !== undefined && limits.memory < 6 * 1024 * 1024)
    throw new BoxError('--memory: the minimum memory limit is 6m');
  if (limits.memorySwap !== undefined && limits.memorySwap !== -1) {
    if (limits.memory === undefined) throw new BoxError('--memory-swap needs --memory as well');
    if (limits.memorySwap < limits.memory)
      throw new BoxError('--memory-swap must be at least as large as --memory (it is memory plus swap)');
  }
  if (
    limits.memoryReservation !== undefined &&
    limits.memory !== undefined &&
    limits.memoryReservation > limits.memory
  ) {
    throw new BoxError('--memory-reservation must be smaller than --memory');
  }
  if (limits.cpuPeriod !== undefined && (limits.cpuPeriod < 1000 || limits.cpuPeriod > 1000000)) {
    throw new BoxError('--cpu-period must be between 1000 and 1000000 microseconds');
  }
  if (limits.cpuQuota !== undefined && limits.cpuQuota !== -1 && limits.cpuQuota < 1000) {
    throw new BoxError('--cpu-quota must be at least 1000 microseconds');
  }
  if (limits.cpuShares !== undefined && limits.cpuShares !== 0 && (limits.cpuShares < 2 || limits.cpuShares > 262144)) {
    throw new BoxError('--cpu-shares must be between 2 and 262144');
  }
  return implementation(host).limitWarnings(host, limits);
}

/** The one place the cgroup version decides: the implementation of a host's cgroups. */
function implementation(host: CgroupHost): typeof CgroupV1 | typeof CgroupV2 {
  return host.version === 2 ? CgroupV2 : CgroupV1;
}

/** The cgroup of box's container `id`: all of them sit under one shared `box/` parent. */
export function containerCgroup(host: CgroupHost, id: string): CgroupManager {
  return new (implementation(host))(host, `box/${id}`);
}

/**
 * A cgroup at a path the caller chose (box-runc: a bundle's linux.cgroupsPath), relative to each
 * hierarchy. `limits` are the container's (its record's): on v1, hugetlb limits add a hierarchy.
 */
export function cgroupAt(host: CgroupHost, relPath: string, limits: CgroupLimits = {}): CgroupManager {
  return new (implementation(host))(host, relPath, limits);
}
