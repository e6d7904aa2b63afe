// Container cgroups on both hierarchies. cgroup v1 (controllers mounted one per directory under
// /sys/fs/cgroup, as on this machine) and cgroup v2 (one unified tree with cgroup.controllers, as
// on most users' machines) are detected at run time. Limits are validated against what the host
// offers before anything is created, so a refused limit leaves nothing behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError, errnoCode } from '../errors';
import { expandCpuList } from '../util/units';
import { attachDeviceProgram } from './bpf';
import { compileDeviceProgram, DEFAULT_DEVICE_RULES, v1RuleText } from './devices';

export interface CgroupLimits {
  memory?: number;
  /** memory plus swap, Docker's --memory-swap; -1 = unlimited */
  memorySwap?: number;
  memoryReservation?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
}

export interface CgroupHost {
  version: 1 | 2;
  /** v1: controller name → its hierarchy's mount point; v2: every available controller → the unified mount */
  mounts: Map<string, string>;
  /** v2 only: the unified mount point */
  unified?: string;
}

const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'freezer', 'devices', 'blkio'];
const V2_WANTED = ['cpuset', 'cpu', 'io', 'memory', 'pids', 'hugetlb'];

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
  return { version: 1, mounts };
}

function readWords(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** Docker's conversion from cpu.shares (2..262144) to cgroup v2's cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** Refuses limits the host cannot enforce; returns warnings for those Docker merely warns about. */
export function checkLimits(host: CgroupHost, limits: CgroupLimits): string[] {
  const need = (controller: string, flag: string) => {
    if (!host.mounts.has(controller)) {
      throw new BoxError(`${flag} needs the ${controller} cgroup controller, which this host does not enable (cgroup v${host.version})`);
    }
  };
  const warnings: string[] = [];
  if (limits.memory !== undefined || limits.memoryReservation !== undefined) need('memory', '--memory');
  if (limits.memorySwap !== undefined) need('memory', '--memory-swap');
  if (limits.cpuQuota !== undefined || limits.cpuPeriod !== undefined || limits.cpuShares !== undefined) need('cpu', '--cpus/--cpu-quota/--cpu-shares');
  if (limits.cpusetCpus !== undefined) {
    need('cpuset', '--cpuset-cpus');
    const online = expandCpuList(fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
    const bad = expandCpuList(limits.cpusetCpus).filter((c) => !online.includes(c));
    if (bad.length) throw new BoxError(`--cpuset-cpus ${limits.cpusetCpus}: CPUs ${bad.join(',')} are not available (online: ${online.join(',')})`);
  }
  if (limits.pidsLimit !== undefined) need('pids', '--pids-limit');
  if (limits.memory !== undefined && limits.memory < 6 * 1024 * 1024) throw new BoxError('--memory: the minimum memory limit is 6m');
  if (limits.memorySwap !== undefined && limits.memorySwap !== -1) {
    if (limits.memory === undefined) throw new BoxError('--memory-swap needs --memory as well');
    if (limits.memorySwap < limits.memory) throw new BoxError('--memory-swap must be at least as large as --memory (it is memory plus swap)');
  }
  if (limits.memoryReservation !== undefined && limits.memory !== undefined && limits.memoryReservation > limits.memory) {
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
  if (host.version === 1 && limits.memorySwap !== undefined && !fs.existsSync(path.join(host.mounts.get('memory')!, 'memory.memsw.limit_in_bytes'))) {
    warnings.push('this kernel does not account swap: --memory-swap is ignored');
  }
  return warnings;
}

function whatChanged(changed: CgroupLimits): { memChanged: boolean; cpuChanged: boolean } {
  return {
    memChanged: changed.memory !== undefined || changed.memorySwap !== undefined,
    cpuChanged: changed.cpuQuota !== undefined || changed.cpuPeriod !== undefined,
  };
}

const pidsMax = (n: number) => (n > 0 ? n : 'max');

/**
 * The cgroup v2 files and values for `limits` (at creation, `changed` is all of them; for
 * `box update`, the flags given, with `limits` the merged result), in the order they are written.
 * `swapAccounted`: the kernel offers memory.swap.max.
 */
export function v2LimitFiles(limits: CgroupLimits, changed: CgroupLimits, swapAccounted: boolean): [string, string | number][] {
  const { memChanged, cpuChanged } = whatChanged(changed);
  const out: [string, string | number][] = [];
  if (memChanged && limits.memory !== undefined) {
    out.push(['memory.max', limits.memory]);
    if (swapAccounted) {
      // v2 limits swap alone; Docker's --memory-swap is memory plus swap (default: twice --memory)
      const total = limits.memorySwap ?? limits.memory * 2;
      out.push(['memory.swap.max', total === -1 ? 'max' : total - limits.memory]);
    }
  }
  if (changed.memoryReservation !== undefined) out.push(['memory.low', changed.memoryReservation]);
  if (cpuChanged) {
    const quota = limits.cpuQuota === undefined || limits.cpuQuota === -1 ? 'max' : String(limits.cpuQuota);
    out.push(['cpu.max', `${quota} ${limits.cpuPeriod ?? 100000}`]);
  }
  if (changed.cpuShares) out.push(['cpu.weight', sharesToWeight(changed.cpuShares)]);
  if (changed.cpusetCpus !== undefined) out.push(['cpuset.cpus', changed.cpusetCpus]);
  if (changed.cpusetMems !== undefined) out.push(['cpuset.mems', changed.cpusetMems]);
  if (changed.pidsLimit !== undefined) out.push(['pids.max', pidsMax(changed.pidsLimit)]);
  return out;
}

/** The cgroup of box's container `id`: all of them sit under one shared `box/` parent. */
export function containerCgroup(host: CgroupHost, id: string): ContainerCgroup {
  return new ContainerCgroup(host, `box/${id}`);
}

/** One container's cgroup: a directory per v1 hierarchy, or one directory in the v2 tree. */
export class ContainerCgroup {
  readonly dirs: string[];

  constructor(
    readonly host: CgroupHost,
    readonly relPath: string, // e.g. "box/<id>"
  ) {
    const roots = host.version === 2 ? [host.unified!] : [...new Set(host.mounts.values())];
    this.dirs = roots.map((r) => path.join(r, relPath));
  }

  /** cgroup.procs files the helper writes the container's pid into. */
  procsFiles(): string[] {
    return this.dirs.map((d) => path.join(d, 'cgroup.procs'));
  }

  /**
   * How the container process enters this cgroup: on v1 it writes "0" to each hierarchy's `tasks`
   * file itself (no global lock); on v2 the helper writes its pid to cgroup.procs.
   */
  joinFiles(): { selfTasks: string[]; procs: string[] } {
    if (this.host.version === 1) return { selfTasks: this.dirs.map((d) => path.join(d, 'tasks')), procs: [] };
    return { selfTasks: [], procs: this.procsFiles() };
  }

  dirFor(controller: string): string | undefined {
    const mount = this.host.mounts.get(controller);
    return mount ? path.join(mount, this.relPath) : undefined;
  }

  /** Creates the cgroup and writes the limits; on any failure removes what it created. */
  create(limits: CgroupLimits, privileged: boolean): void {
    try {
      if (this.host.version === 2) this.createV2(limits, privileged);
      else this.createV1(limits, privileged);
    } catch (err) {
      this.remove();
      if (err instanceof BoxError) throw new BoxError(`cannot set up the container's cgroup: ${err.message}`);
      throw new BoxError(`cannot set up the container's cgroup: ${(err as Error).message}`);
    }
  }

  private createV1(limits: CgroupLimits, privileged: boolean): void {
    for (const [controller, mount] of this.host.mounts) {
      // cpuset children start with empty cpus/mems and refuse tasks until they are filled. Every
      // level is checked, not only the ones created here: a concurrent start may have created a
      // parent it has not filled yet.
      createLevels(mount, this.relPath, (dir, parent) => {
        if (controller !== 'cpuset') return;
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          const cur = fs.readFileSync(path.join(dir, f), 'utf8').trim();
          if (!cur) fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(parent, f), 'utf8').trim());
        }
      });
    }
    this.writeLimits(limits);
    const w = (controller: string, file: string, value: string | number) => writeLimit(this.dirFor(controller)!, file, value);
    if (this.host.mounts.has('devices')) {
      // The device allowlist Docker applies: only the standard nodes and ptys can be opened.
      if (privileged) w('devices', 'devices.allow', 'a *:* rwm');
      else {
        w('devices', 'devices.deny', 'a');
        for (const rule of DEFAULT_DEVICE_RULES) w('devices', 'devices.allow', v1RuleText(rule));
      }
    }
  }

  private createV2(limits: CgroupLimits, privileged: boolean): void {
    const unified = this.host.unified!;
    const wanted = V2_WANTED.filter((c) => this.host.mounts.has(c));
    // Delegate controllers down to the container's level ("no internal processes" rule: only
    // leaf cgroups hold processes, so enabling them on the parents is allowed).
    createLevels(unified, this.relPath, undefined, (parent) => enableControllers(parent, wanted));
    this.writeLimits(limits);
    // v2 has no devices files: the same allowlist as v1's, as a BPF program on the cgroup.
    if (!privileged) {
      try {
        attachDeviceProgram(this.dirs[0], compileDeviceProgram(DEFAULT_DEVICE_RULES));
      } catch (err) {
        throw new BoxError(`cannot restrict the container's devices: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Writes limits into the cgroup: at creation all of them, for `box update` the `changed` ones
   * (with `limits` the merged result), in an order the kernel accepts.
   */
  writeLimits(limits: CgroupLimits, changed: CgroupLimits = limits): void {
    if (this.host.version === 2) {
      const dir = this.dirs[0];
      for (const [file, value] of v2LimitFiles(limits, changed, fs.existsSync(path.join(dir, 'memory.swap.max')))) writeLimit(dir, file, value);
      return;
    }
    const { memChanged, cpuChanged } = whatChanged(changed);
    const w = (controller: string, file: string, value: string | number) => {
      const dir = this.dirFor(controller);
      if (dir !== undefined) writeLimit(dir, file, value);
    };
    const mem = this.dirFor('memory');
    if (memChanged && mem !== undefined && limits.memory !== undefined) {
      const memsw = path.join(mem, 'memory.memsw.limit_in_bytes');
      if (fs.existsSync(memsw)) {
        const swap = limits.memorySwap ?? limits.memory * 2;
        // memory may never exceed memory+swap: raise memsw first when growing, lower it last when shrinking.
        const current = Number(fs.readFileSync(memsw, 'utf8').trim());
        if (swap === -1 || limits.memory > current) {
          w('memory', 'memory.memsw.limit_in_bytes', swap);
          w('memory', 'memory.limit_in_bytes', limits.memory);
        } else {
          w('memory', 'memory.limit_in_bytes', limits.memory);
          w('memory', 'memory.memsw.limit_in_bytes', swap);
        }
      } else w('memory', 'memory.limit_in_bytes', limits.memory);
    }
    if (changed.memoryReservation !== undefined) w('memory', 'memory.soft_limit_in_bytes', changed.memoryReservation);
    if (cpuChanged) {
      w('cpu', 'cpu.cfs_period_us', limits.cpuPeriod ?? 100000);
      w('cpu', 'cpu.cfs_quota_us', limits.cpuQuota ?? -1);
    }
    if (changed.cpuShares) w('cpu', 'cpu.shares', changed.cpuShares);
    if (changed.cpusetCpus !== undefined) w('cpuset', 'cpuset.cpus', changed.cpusetCpus);
    if (changed.cpusetMems !== undefined) w('cpuset', 'cpuset.mems', changed.cpusetMems);
    if (changed.pidsLimit !== undefined) w('pids', 'pids.max', pidsMax(changed.pidsLimit));
  }

  /** True if the kernel's OOM killer killed a process of this cgroup. */
  oomKilled(): boolean {
    if (this.host.version === 2) return counter(path.join(this.dirs[0], 'memory.events'), 'oom_kill') > 0;
    const mem = this.dirFor('memory');
    return mem ? counter(path.join(mem, 'memory.oom_control'), 'oom_kill') > 0 : false;
  }

  pids(): number[] {
    const pids = new Set<number>();
    for (const f of this.procsFiles()) {
      for (const w of readWords(f)) pids.add(Number(w));
    }
    return [...pids];
  }

  /**
   * Kills whatever is left and removes the directories. Processes of a dead PID namespace can take
   * a moment to leave the cgroup, so EBUSY is retried for a bounded time.
   */
  remove(): void {
    const deadline = Date.now() + 5000;
    for (const dir of this.dirs) {
      for (;;) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || Date.now() > deadline) throw err;
          this.killAll();
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        }
      }
    }
    this.removeEmptyParents();
  }

  /** Removes the shared parents (e.g. box/) once no container uses them; busy parents stay. */
  private removeEmptyParents(): void {
    const roots = this.host.version === 2 ? [this.host.unified!] : [...new Set(this.host.mounts.values())];
    for (const root of roots) {
      for (let rel = path.dirname(this.relPath); rel !== '.' && rel !== '/'; rel = path.dirname(rel)) {
        try {
          fs.rmdirSync(path.join(root, rel));
        } catch {
          break; // another container's cgroup is still in it, or it is gone already
        }
      }
    }
  }

  killAll(): void {
    if (this.host.version === 2) {
      try {
        fs.writeFileSync(path.join(this.dirs[0], 'cgroup.kill'), '1');
        return;
      } catch {
        /* kernels before 5.14: fall back to signalling each pid */
      }
    }
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

/**
 * Creates root/relPath level by level. `ensure(dir, parent)` runs for each level (new or already
 * there), and `before(parent)` before each mkdir. A parent removed concurrently by another
 * container's cleanup (ENOENT) makes the walk start over.
 */
function createLevels(root: string, relPath: string, ensure?: (dir: string, parent: string) => void, before?: (parent: string) => void): void {
  for (let attempt = 0; ; attempt++) {
    try {
      let dir = root;
      for (const part of relPath.split('/')) {
        const parent = dir;
        dir = path.join(dir, part);
        before?.(parent);
        mkdirIfMissing(dir);
        ensure?.(dir, parent);
      }
      return;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || attempt >= 10) throw err;
    }
  }
}

/** Writes one cgroup file; a value the kernel refuses becomes an error naming file and value. */
function writeLimit(dir: string, file: string, value: string | number): void {
  try {
    fs.writeFileSync(path.join(dir, file), String(value));
  } catch (err) {
    throw new BoxError(`the kernel refused ${file} = ${value} (${errnoCode(err) ?? (err as Error).message})`);
  }
}

function mkdirIfMissing(dir: string): boolean {
  try {
    fs.mkdirSync(dir);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
}

function enableControllers(dir: string, controllers: string[]): void {
  const enabled = new Set(readWords(path.join(dir, 'cgroup.subtree_control')));
  const missing = controllers.filter((c) => !enabled.has(c));
  if (missing.length) fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
}

function counter(file: string, key: string): number {
  try {
    const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(key + ' '));
    return line ? Number(line.split(' ')[1]) : 0;
  } catch {
    return 0;
  }
}
