// A container's cgroup on cgroup v2: one directory in the unified tree (the host's, or the
// cgroup2 mount BOX_CGROUP_V2_MOUNT names), controllers delegated down to it, limits in the
// unified files, the device allowlist as a BPF program, cgroup.freeze for the freezer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { attachDeviceProgram } from './bpf';
import { CgroupBase } from './cgroup-base';
import {
  countLines,
  counter,
  createLevels,
  limitsChanged,
  parseFlatKeyed,
  parseIoStat,
  pidsMax,
  readCgroupFile,
  readNumber,
  readWords,
  usageLessInactive,
  writeLimit,
} from './cgroup-files';
import type { CgroupHost, CgroupLimits, CgroupLocation, CgroupStats, FreezerState, InitCgroup } from './cgroup-manager';
import { compileDeviceProgram, DEFAULT_DEVICE_RULES } from './devices';

/** The controllers delegated to containers, when the host offers them. */
const V2_WANTED = ['cpuset', 'cpu', 'io', 'memory', 'pids', 'hugetlb'];

/** Docker's conversion from cpu.shares (2..262144) to cgroup v2's cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/**
 * The cgroup v2 files and values for `limits` (at creation, `changed` is all of them; for
 * `box update`, the flags given, with `limits` the merged result), in the order they are written.
 * `swapAccounted`: the kernel offers memory.swap.max.
 */
export function v2LimitFiles(
  limits: CgroupLimits,
  changed: CgroupLimits,
  swapAccounted: boolean,
): [string, string | number][] {
  const { memChanged, cpuChanged } = limitsChanged(changed);
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
  for (const t of changed.ioThrottle ?? []) {
    const keys = { rbps: t.readBps, wbps: t.writeBps, riops: t.readIops, wiops: t.writeIops };
    const set = Object.entries(keys).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v || 'max'}`]));
    out.push(['io.max', `${t.major}:${t.minor} ${set.join(' ')}`]);
  }
  for (const [size, bytes] of Object.entries(changed.hugetlb ?? {})) {
    out.push([`hugetlb.${size}.max`, bytes === -1 ? 'max' : bytes]);
  }
  // last, as runc writes them: they may refine what the fields above set
  for (const [file, value] of Object.entries(changed.unified ?? {})) out.push([file, value]);
  return out;
}

export class CgroupV2 extends CgroupBase {
  /** the container's directory in the unified tree */
  private readonly dir: string;

  /** `_limits`: v1 needs them to choose its hierarchies; v2 has one. */
  constructor(host: CgroupHost, relPath: string, _limits?: CgroupLimits) {
    super(host, relPath, [host.unified!]);
    this.dir = this.dirs[0];
  }

  /** A missing swap controller is not warned about: memory.swap.max is then simply not written. */
  static limitWarnings(): string[] {
    return [];
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  protected build(limits: CgroupLimits, privileged: boolean): void {
    const wanted = V2_WANTED.filter((c) => this.host.mounts.has(c));
    // Delegate controllers down to the container's level ("no internal processes" rule: only
    // leaf cgroups hold processes, so enabling them on the parents is allowed).
    createLevels(this.host.unified!, this.relPath, undefined, (parent) => enableControllers(parent, wanted));
    this.writeLimits(limits);
    // v2 has no devices files: the same allowlist as v1's, as a BPF program on the cgroup.
    if (!privileged) {
      try {
        attachDeviceProgram(this.dir, compileDeviceProgram(DEFAULT_DEVICE_RULES));
      } catch (err) {
        throw new BoxError(`cannot restrict the container's devices: ${(err as Error).message}`);
      }
    }
  }

  writeLimits(limits: CgroupLimits, changed: CgroupLimits = limits): void {
    for (const file of Object.keys(changed.unified ?? {})) {
      // the kernel refuses a file cgroupfs lacks (ENOENT/EACCES); say which and why
      if (!fs.existsSync(this.file(file))) {
        throw new BoxError(`unified: ${file} is not a file of the container's cgroup (is its controller enabled?)`);
      }
    }
    const swapAccounted = fs.existsSync(this.file('memory.swap.max'));
    for (const [file, value] of v2LimitFiles(limits, changed, swapAccounted)) writeLimit(this.dir, file, value);
  }

  /** The helper writes the init's pid to cgroup.procs; inside, the cgroup2 file system itself. */
  initCgroup(): InitCgroup {
    const mount = { source: 'cgroup', target: '/sys/fs/cgroup', fstype: 'cgroup2', data: '', readOnly: true };
    return { helperWrites: this.procsFiles(), selfWrites: [], mounts: [mount], remountTop: false };
  }

  joinFiles(): string[] {
    return this.procsFiles();
  }

  protected freezerFile(): CgroupLocation['freezer'] {
    return { file: this.file('cgroup.events'), frozenLine: 'frozen 1' };
  }

  /** The settled state is cgroup.events' "frozen 1"; cgroup.freeze says what was asked. */
  freezerState(): FreezerState | undefined {
    const events = readCgroupFile(this.file('cgroup.events'));
    if (events === undefined) return undefined;
    if (/^frozen 1$/m.test(events)) return 'frozen';
    return readCgroupFile(this.file('cgroup.freeze'))?.trim() === '1' ? 'freezing' : 'thawed';
  }

  requestFreeze(frozen: boolean): void {
    fs.writeFileSync(this.file('cgroup.freeze'), frozen ? '1' : '0');
  }

  stats(): CgroupStats {
    const usage = readNumber(this.file('memory.current')) ?? 0;
    const memoryStat = parseFlatKeyed(readCgroupFile(this.file('memory.stat')) ?? '');
    const io = parseIoStat(readCgroupFile(this.file('io.stat')) ?? '');
    return {
      cpuNs: (parseFlatKeyed(readCgroupFile(this.file('cpu.stat')) ?? '').get('usage_usec') ?? 0) * 1000,
      memUsage: usageLessInactive(usage, memoryStat.get('inactive_file') ?? 0),
      memLimit: readNumber(this.file('memory.max')),
      blkRead: io.read,
      blkWrite: io.write,
      pids: readNumber(this.file('pids.current')) ?? countLines(this.file('cgroup.threads')),
    };
  }

  oomKilled(): boolean {
    return counter(this.file('memory.events'), 'oom_kill') > 0;
  }

  /** cgroup.kill ends every process at once; kernels before 5.14 lack it and each pid is signalled. */
  override killAll(): void {
    try {
      fs.writeFileSync(this.file('cgroup.kill'), '1');
    } catch {
      super.killAll();
    }
  }
}

/** Enables controllers for a cgroup's children (cgroup.subtree_control), those not enabled yet. */
export function enableControllers(dir: string, controllers: string[]): void {
  const enabled = new Set(readWords(path.join(dir, 'cgroup.subtree_control')));
  const missing = controllers.filter((c) => !enabled.has(c));
  if (missing.length) {
    fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
  }
}
