// Linux capabilities: names, numbers, Docker-compatible resolution of --cap-add/--cap-drop,
// and the five capability sets a container process gets.
//
// Masks are bigints with bit N set for capability number N (see capabilities(7)).

/** Capability numbers from <linux/capability.h>, in order. Index = capability number. */
export const CAP_NAMES: readonly string[] = Object.freeze([
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE', // 1
  'CAP_DAC_READ_SEARCH', // 2
  'CAP_FOWNER', // 3
  'CAP_FSETID', // 4
  'CAP_KILL', // 5
  'CAP_SETGID', // 6
  'CAP_SETUID', // 7
  'CAP_SETPCAP', // 8
  'CAP_LINUX_IMMUTABLE', // 9
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST', // 11
  'CAP_NET_ADMIN', // 12
  'CAP_NET_RAW', // 13
  'CAP_IPC_LOCK', // 14
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE', // 16
  'CAP_SYS_RAWIO', // 17
  'CAP_SYS_CHROOT', // 18
  'CAP_SYS_PTRACE', // 19
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN', // 21
  'CAP_SYS_BOOT', // 22
  'CAP_SYS_NICE', // 23
  'CAP_SYS_RESOURCE', // 24
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG', // 26
  'CAP_MKNOD', // 27
  'CAP_LEASE', // 28
  'CAP_AUDIT_WRITE', // 29
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP', // 31
  'CAP_MAC_OVERRIDE', // 32
  'CAP_MAC_ADMIN', // 33
  'CAP_SYSLOG', // 34
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND', // 36
  'CAP_AUDIT_READ', // 37
  'CAP_PERFMON', // 38
  'CAP_BPF', // 39
  'CAP_CHECKPOINT_RESTORE', // 40
]);

/** The highest capability number box knows (CAP_CHECKPOINT_RESTORE). */
export const CAP_LAST_KNOWN = CAP_NAMES.length - 1;

const CAP_BY_NAME: ReadonlyMap<string, number> = new Map(CAP_NAMES.map((n, i) => [n, i]));

/** Capability name ("CAP_SYS_ADMIN") → number. */
export const CAP: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(CAP_BY_NAME));

/** Docker's default capability set for containers (moby's oci/caps defaults). */
export const DOCKER_DEFAULT_CAPS: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

/** The bit for one capability number. */
export function capBit(cap: number): bigint {
  return 1n << BigInt(cap);
}

/** Mask with every capability 0..lastCap set. */
export function allCapsMask(lastCap: number = CAP_LAST_KNOWN): bigint {
  if (!Number.isInteger(lastCap) || lastCap < 0 || lastCap > 63) {
    throw new Error(`invalid last capability number ${lastCap}`);
  }
  return (1n << BigInt(lastCap + 1)) - 1n;
}

export const DOCKER_DEFAULT_CAP_MASK: bigint = DOCKER_DEFAULT_CAPS.reduce(
  (m, n) => m | capBit(CAP_BY_NAME.get(n)!),
  0n,
);

/**
 * Parses a capability name: "NET_ADMIN", "CAP_NET_ADMIN", "cap_net_admin" → 12; "ALL" → 'ALL'.
 * Throws on an unknown name.
 */
export function parseCapName(s: string): number | 'ALL' {
  const up = s.trim().toUpperCase();
  if (up === 'ALL' || up === 'CAP_ALL') return 'ALL';
  const full = up.startsWith('CAP_') ? up : `CAP_${up}`;
  const n = CAP_BY_NAME.get(full);
  if (n === undefined) {
    throw new Error(`unknown capability "${s}": see capabilities(7) for names`);
  }
  return n;
}

/** Like parseCapName but returns undefined instead of throwing (and never 'ALL'). */
export function lookupCapName(s: string): number | undefined {
  const up = s.trim().toUpperCase();
  return CAP_BY_NAME.get(up.startsWith('CAP_') ? up : `CAP_${up}`);
}

export interface ResolveCapabilitiesOptions {
  /** --privileged: every capability up to lastCap. */
  privileged?: boolean;
  /** --cap-add values (with or without CAP_, any case, or ALL). */
  capAdd?: readonly string[];
  /** --cap-drop values. */
  capDrop?: readonly string[];
  /** The kernel's highest capability (/proc/sys/kernel/cap_last_cap); default CAP_LAST_KNOWN. */
  lastCap?: number;
  /** The starting set; default Docker's defaults. */
  defaults?: bigint;
}

/**
 * The container's capability mask, following Docker's rules:
 * - privileged: all capabilities 0..lastCap (cap-add/cap-drop are ignored, as Docker does);
 * - ALL in cap-add: all capabilities except those in cap-drop;
 * - ALL in cap-drop (and not in cap-add): exactly the capabilities in cap-add;
 * - otherwise: the defaults minus cap-drop, then plus cap-add (so a capability both added and
 *   dropped ends up present, as in Docker).
 * Every name is validated, even when privileged. The result never has bits above lastCap.
 */
export function resolveCapabilities(opts: ResolveCapabilitiesOptions = {}): bigint {
  const lastCap = opts.lastCap ?? CAP_LAST_KNOWN;
  const all = allCapsMask(lastCap);
  const parse = (list: readonly string[] | undefined): { all: boolean; mask: bigint } => {
    let isAll = false;
    let mask = 0n;
    for (const s of list ?? []) {
      const c = parseCapName(s);
      if (c === 'ALL') isAll = true;
      else mask |= capBit(c);
    }
    return { all: isAll, mask };
  };
  const add = parse(opts.capAdd);
  const drop = parse(opts.capDrop);
  if (opts.privileged) return all;
  let caps: bigint;
  if (add.all) caps = all & ~drop.mask;
  else if (drop.all) caps = add.mask;
  else caps = ((opts.defaults ?? DOCKER_DEFAULT_CAP_MASK) & ~drop.mask) | add.mask;
  return caps & all;
}

/** Names of the capabilities in a mask, in number order ("CAP_CHOWN", ...); unknown bits as "CAP_N". */
export function capsToNames(mask: bigint): string[] {
  // The two 32-bit halves as numbers: a bigint made per bit cost a policy's request ~0.02 ms of CPU.
  const halves = [Number(BigInt.asUintN(32, mask)), Number(BigInt.asUintN(32, mask >> 32n))];
  const out: string[] = [];
  for (let i = 0; i < 64; i++) {
    if ((halves[i >> 5] >>> (i & 31)) & 1) out.push(CAP_NAMES[i] ?? `CAP_${i}`);
  }
  return out;
}

/** Does the mask hold the named capability? (Unknown names: false.) */
export function hasCap(mask: bigint, name: string): boolean {
  const c = lookupCapName(name);
  return c !== undefined && (mask & capBit(c)) !== 0n;
}

export interface CapSets {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/**
 * The capability sets for the container process, as Docker (25+) and runc set them:
 * root (uid 0): bounding = effective = permitted = mask, inheritable = ambient = 0;
 * any other uid: only the bounding set (the process can regain capabilities by executing
 * a setuid-root or file-capability binary, within the bounding set), everything else empty.
 */
export function capSetsFor(mask: bigint, uid: number): CapSets {
  if (uid === 0) {
    return { bounding: mask, effective: mask, permitted: mask, inheritable: 0n, ambient: 0n };
  }
  return { bounding: mask, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
}
