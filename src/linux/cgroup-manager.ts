// What box asks of a container's cgroup, whichever cgroup version the host runs: the interface
// cgroup-v1.ts and cgroup-v2.ts implement (youki's CgroupManager is the model). cgroups.ts
// detects the version once and hands out the matching implementation; nothing outside src/linux/
// knows which one it holds.

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
  /** hugetlb limits in bytes by page size ("2MB" → bytes; -1 = unlimited): OCI hugepageLimits */
  hugetlb?: Record<string, number>;
  /** I/O throttles per block device (OCI blockIO.throttle*Device) */
  ioThrottle?: IoThrottle[];
  /** cgroup v2 files and their values, written as given (OCI resources.unified); v2 only */
  unified?: Record<string, string>;
}

/** One block device's I/O limits: bytes or operations per second, each optional. */
export interface IoThrottle {
  major: number;
  minor: number;
  readBps?: number;
  writeBps?: number;
  readIops?: number;
  writeIops?: number;
}

/** The host's cgroup hierarchies, as detected (cgroups.ts detectCgroups). */
export interface CgroupHost {
  version: 1 | 2;
  /** v1: controller name → its hierarchy's mount point; v2: every available controller → the unified mount */
  mounts: Map<string, string>;
  /** v2 only: the unified mount point */
  unified?: string;
  /**
   * v1 only: where the hugetlb controller is, for a container that asks for hugetlb limits: its
   * own v1 hierarchy, or the cgroup2 mount of a hybrid host (/sys/fs/cgroup/unified) that offers it.
   */
  hugetlb?: { mount: string; cgroup2: boolean };
}

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

/** One file system mounted at or under /sys/fs/cgroup inside the container. */
export interface CgroupMount {
  source: string;
  target: string;
  fstype: string;
  data: string;
  /** read-only unless the container is privileged */
  readOnly: boolean;
}

/** What the plan of a container's init needs from its cgroup: paths and mounts, pure data. */
export interface InitCgroup {
  /** cgroup.procs files the helper writes the init's pid into (helper op `cgroup`) */
  helperWrites: string[];
  /** files the init writes itself into before it runs anything (helper op `cgroup-join`) */
  selfWrites: string[];
  /** the cgroup file system as the container sees it, in mount order, inside its cgroup namespace */
  mounts: CgroupMount[];
  /** /sys/fs/cgroup is a tmpfs holding the hierarchies, remounted read-only (unless privileged) after pivot */
  remountTop: boolean;
}

/** A reading of a cgroup's counters; a controller the host lacks reads as 0. */
export interface CgroupStats {
  cpuNs: number;
  /** memory in use less the inactive page cache, as Docker reports it */
  memUsage: number;
  /** the memory limit; undefined when the file is absent or holds no number ("max") */
  memLimit?: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

/**
 * Where a cgroup's files are, for a reader outside box's TypeScript (box-runc's native half reads
 * them from src/oci/state-file.ts's file): each hierarchy's root, the cgroup's path under each,
 * and the freezer's file with the line it holds while the cgroup is frozen.
 */
export interface CgroupLocation {
  roots: string[];
  relPath: string;
  freezer?: { file: string; frozenLine: string };
}

/** One container's cgroup. */
export interface CgroupManager {
  /** Creates the cgroup and writes the limits; on any failure removes what it created. */
  create(limits: CgroupLimits, privileged: boolean): void;
  /**
   * Writes limits into the cgroup: at creation all of them, for `box update` the `changed` ones
   * (with `limits` the merged result), in an order the kernel accepts.
   */
  writeLimits(limits: CgroupLimits, changed?: CgroupLimits): void;
  /** How the container's init enters the cgroup and sees the cgroup file system. */
  initCgroup(): InitCgroup;
  /**
   * cgroup.procs of each hierarchy: for an init that must be in its cgroup before it is released
   * (an OCI `create`), rather than joining it itself as initCgroup's selfWrites do on v1.
   */
  procsFiles(): string[];
  /** Files a process joining the running container (exec, health probe) writes itself into. */
  joinFiles(): string[];
  location(): CgroupLocation;
  /** The freezer state; undefined when the cgroup (or a freezer for it) is absent. */
  freezerState(): FreezerState | undefined;
  /** Asks the kernel to freeze or thaw the cgroup; the state may settle later (freezer.ts waits). */
  requestFreeze(frozen: boolean): void;
  stats(): CgroupStats;
  /** True if the kernel's OOM killer killed a process of this cgroup. */
  oomKilled(): boolean;
  pids(): number[];
  killAll(): void;
  /**
   * Kills whatever is left and removes the cgroup, then its shared parents once no other
   * container uses them.
   */
  remove(): void;
}
