// The kernel's resource limits (RLIMIT_* of <sys/resource.h>) by the names Docker's --ulimit uses.
// Kernel facts, so they live here: run flags, policy patches and the helper's rlimit op all use them.
const RLIMITS: Record<string, number> = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: 4,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
};

/** The RLIMIT_* number of a --ulimit name, checked before with isRlimitName (run flags, patches). */
export function rlimitNumber(name: string): number {
  if (!isRlimitName(name)) throw new Error(`no resource limit is named "${name}"`);
  return RLIMITS[name];
}

/** Does the kernel have a limit of this --ulimit name? (Own keys only: "constructor" is no limit.) */
export function isRlimitName(name: string): boolean {
  return Object.hasOwn(RLIMITS, name);
}

export const RLIMIT_NAMES: readonly string[] = Object.keys(RLIMITS);
