// The kernel's resource limits (RLIMIT_* of <sys/resource.h>) by the names Docker's --ulimit uses.
// Kernel facts, so they live here: run flags, policy patches and the helper's rlimit op all use them.
const RLIMITS: Record<string, number> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7,
  memlock: 8, as: 9, locks: 10, sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
};

/** The RLIMIT_* number of a --ulimit name (undefined for a name the kernel has no limit for). */
export function rlimitNumber(name: string): number {
  return RLIMITS[name];
}

/** Does the kernel have a limit of this --ulimit name? */
export function isRlimitName(name: string): boolean {
  return name in RLIMITS;
}

export const RLIMIT_NAMES: readonly string[] = Object.keys(RLIMITS);
