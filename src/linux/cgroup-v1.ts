// A container's cgroup on cgroup v1: one directory per mounted controller hierarchy under
// /sys/fs/cgroup/<controller> (as on this machine), limits in each controller's own files, the
// device allowlist as text rules, the freezer controller's freezer.state.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BoxError } from '../errors';
import { CgroupBase } from './cgroup-base';
import {
  countLines,
  counter,
  parseBlkioServiceBytes,
  parseFlatKeyed,
  readCgroupFile,
  readNumber,
  usageLessInactive,
  createLevels,
  limitsChanged,
  pidsMax,
  writeLimit,
  writeLimits,
} from './cgroup-files';
import { enableControllers } from './cgroup-v2';
import type { CgroupHost, CgroupLimits, CgroupLocation, CgroupStats, FreezerState, InitCgroup } from './cgroup-manager';
import { DEFAULT_DEVICE_RULES, v1RuleText } from './devices';

export class CgroupV1 extends CgroupBase {
  /**
   * The hugetlb hierarchy, joined only by a container with hugetlb limits (box-runc's
   * hugepageLimits, which Kubernetes writes into every pod): on a hybrid host the cgroup2 mount.
   */
  private readonly hugetlb?: { dir: string; cgroup2: boolean };

  constructor(host: CgroupHost, relPath: string, limits: CgroupLimits = {}) {
    const hugetlb = Object.keys(limits.hugetlb ?? {}).length ? host.hugetlb : undefined;
    super(host, relPath, [...new Set(host.mounts.values()), ...(hugetlb ? [hugetlb.mount] : [])]);
    if (hugetlb) this.hugetlb = { dir: path.join(hugetlb.mount, relPath), cgroup2: hugetlb.cgroup2 };
  }

  /** Docker's warning when the kernel does not account swap: --memory-swap is then not written. */
  static limitWarnings(host: CgroupHost, limits: CgroupLimits): string[] {
    const memory = host.mounts.get('memory');
    if (limits.memorySwap === undefined || memory === undefined) return [];
    if (fs.existsSync(path.join(memory, 'memory.memsw.limit_in_bytes'))) return [];
    return ['this kernel does not account swap: --memory-swap is ignored'];
  }

  private dirFor(controller: string): string | undefined {
    const mount = this.host.mounts.get(controller);
    return mount ? path.join(mount, this.relPath) : undefined;
  }

  private fileOf(controller: string, file: string): string | undefined {
    const dir = this.dirFor(controller);
    return dir === undefined ? undefined : path.join(dir, file);
  }

  protected build(limits: CgroupLimits, privileged: boolean): void {
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
    if (this.hugetlb) {
      const root = this.host.hugetlb!.mount;
      // on cgroup2 the controller must be enabled on each parent ("+hugetlb" in subtree_control)
      createLevels(root, this.relPath, undefined, (parent) => {
        if (this.hugetlb?.cgroup2) enableControllers(parent, ['hugetlb']);
      });
    }
    this.writeLimits(limits);
    const devices = this.dirFor('devices');
    if (devices !== undefined) {
      // The device allowlist Docker applies: only the standard nodes and ptys can be opened.
      if (privileged) writeLimit(devices, 'devices.allow', 'a *:* rwm');
      else {
        writeLimit(devices, 'devices.deny', 'a');
        writeLimits(devices, 'devices.allow', DEFAULT_DEVICE_RULES.map(v1RuleText));
      }
    }
  }

  writeLimits(limits: CgroupLimits, changed: CgroupLimits = limits): void {
    const { memChanged, cpuChanged } = limitsChanged(changed);
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
    for (const t of changed.ioThrottle ?? []) {
      const dev = `${t.major}:${t.minor}`;
      if (t.readBps !== undefined) w('blkio', 'blkio.throttle.read_bps_device', `${dev} ${t.readBps}`);
      if (t.writeBps !== undefined) w('blkio', 'blkio.throttle.write_bps_device', `${dev} ${t.writeBps}`);
      if (t.readIops !== undefined) w('blkio', 'blkio.throttle.read_iops_device', `${dev} ${t.readIops}`);
      if (t.writeIops !== undefined) w('blkio', 'blkio.throttle.write_iops_device', `${dev} ${t.writeIops}`);
    }
    for (const [size, bytes] of Object.entries(changed.hugetlb ?? {})) {
      if (!this.hugetlb) throw new BoxError('hugetlb limits can only be changed for a container created with them');
      if (this.hugetlb.cgroup2) writeLimit(this.hugetlb.dir, `hugetlb.${size}.max`, bytes === -1 ? 'max' : bytes);
      else writeLimit(this.hugetlb.dir, `hugetlb.${size}.limit_in_bytes`, bytes);
    }
  }

  /**
   * The init writes "0" to each hierarchy's `tasks` file itself, far cheaper than the helper
   * writing its pid to cgroup.procs (a global lock per write). Inside, a tmpfs holds one mount
   * per hierarchy and is made read-only once they are in.
   */
  initCgroup(): InitCgroup {
    const mounts = [{ source: 'tmpfs', target: '/sys/fs/cgroup', fstype: 'tmpfs', data: 'mode=755', readOnly: false }];
    for (const controller of this.host.mounts.keys()) {
      const target = `/sys/fs/cgroup/${controller}`;
      mounts.push({ source: 'cgroup', target, fstype: 'cgroup', data: controller, readOnly: true });
    }
    return { helperWrites: [], selfWrites: this.taskFiles(), mounts, remountTop: true };
  }

  joinFiles(): string[] {
    return this.taskFiles();
  }

  /** cgroup2 has no `tasks`: there the init writes itself into cgroup.procs (its whole process). */
  private taskFiles(): string[] {
    return this.dirs.map((d) =>
      path.join(d, d === this.hugetlb?.dir && this.hugetlb.cgroup2 ? 'cgroup.procs' : 'tasks'),
    );
  }

  protected freezerFile(): CgroupLocation['freezer'] {
    const file = this.fileOf('freezer', 'freezer.state');
    return file === undefined ? undefined : { file, frozenLine: 'FROZEN' };
  }

  freezerState(): FreezerState | undefined {
    const state = readCgroupFile(this.fileOf('freezer', 'freezer.state'))?.trim();
    if (state === 'FROZEN') return 'frozen';
    if (state === 'FREEZING') return 'freezing';
    return state === 'THAWED' ? 'thawed' : undefined;
  }

  requestFreeze(frozen: boolean): void {
    const file = this.fileOf('freezer', 'freezer.state');
    if (!file) throw new BoxError('pausing needs the freezer cgroup controller, which this host does not mount');
    fs.writeFileSync(file, frozen ? 'FROZEN' : 'THAWED');
  }

  stats(): CgroupStats {
    const usage = readNumber(this.fileOf('memory', 'memory.usage_in_bytes')) ?? 0;
    const memoryStat = parseFlatKeyed(readCgroupFile(this.fileOf('memory', 'memory.stat')) ?? '');
    // The CFQ/BFQ counters are empty with other schedulers; the throttle layer sees all I/O.
    const blkio = (file: string) => parseBlkioServiceBytes(readCgroupFile(this.fileOf('blkio', file)) ?? '');
    let io = blkio('blkio.io_service_bytes_recursive');
    if (io.read === 0 && io.write === 0) io = blkio('blkio.throttle.io_service_bytes_recursive');
    return {
      cpuNs: readNumber(this.fileOf('cpuacct', 'cpuacct.usage')) ?? 0,
      memUsage: usageLessInactive(usage, memoryStat.get('total_inactive_file') ?? 0),
      memLimit: readNumber(this.fileOf('memory', 'memory.limit_in_bytes')),
      blkRead: io.read,
      blkWrite: io.write,
      pids: readNumber(this.fileOf('pids', 'pids.current')) ?? countLines(this.fileOf('pids', 'tasks')),
    };
  }

  oomKilled(): boolean {
    const file = this.fileOf('memory', 'memory.oom_control');
    return file ? counter(file, 'oom_kill') > 0 : false;
  }
}
