// An OCI bundle's config.json (runtime-spec 1.0 to 1.3), read strictly: every field is either
// honoured, and turned into box's own terms here (capability masks, rlimits by name, cgroup
// limits, mount flags), or refused with an error naming the field. plan.ts turns the result into
// the helper's steps.
import type { CgroupLimits } from '../linux/cgroups';
import type { IoThrottle } from '../linux/cgroup-manager';
import { capsToNames, lookupCapName } from '../linux/capabilities';
import { isRlimitName } from '../linux/rlimits';
import { DEFAULT_DEVICE_RULES, DeviceRule, v1RuleText } from '../linux/devices';
import type { Ulimit } from '../model';
import { Fields, FieldRules, Json, SpecFieldError } from './json-fields';
import { parseMountOptions, MountOptions } from './mount-options';

export const OCI_VERSION_MIN = '1.0.0';
export const OCI_VERSION_MAX = '1.3.0';

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface OciMount extends MountOptions {
  destination: string;
  type: string;
  source: string;
}

export interface OciDevice {
  path: string;
  /** S_IFCHR, S_IFBLK or S_IFIFO with the permission bits */
  mode: number;
  major: number;
  minor: number;
}

export interface OciProcess {
  terminal: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  caps: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  rlimits: Ulimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  /** process.consoleSize: the pty's window size before its master goes to the console socket */
  consoleSize?: { rows: number; cols: number };
}

export interface OciHook {
  path: string;
  /** argv, argv[0] included, as the runtime-spec has it */
  args: string[];
  env: string[];
  /** seconds */
  timeout?: number;
}

export interface OciConfig {
  ociVersion: string;
  root: { path: string; readonly: boolean };
  process: OciProcess;
  hostname?: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  /** the namespaces the container gets new copies of */
  namespaces: Set<NamespaceType>;
  /** existing namespaces it joins (linux.namespaces[].path): net, ipc, uts or pid */
  joined: { type: NamespaceType; path: string }[];
  devices: OciDevice[];
  cgroupsPath?: string;
  limits: CgroupLimits;
  /** linux.resources.devices allows every device */
  allDevices: boolean;
  sysctl: Record<string, string>;
  /** linux.seccomp as JSON text, in the format Docker's profiles share with the runtime-spec */
  seccomp?: string;
  /** MS_* propagation flags for the root mount */
  rootfsPropagation: number;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** hooks, each with the state on stdin: run by box-runc (hooks.ts) or in the container (plan.ts) */
  hooks: Partial<Record<HookName, OciHook[]>>;
  /** what was taken as runc takes it, with a warning (e.g. ambient capabilities the kernel refuses) */
  warnings: string[];
}

const NOT_WINDOWS = 'is for other operating systems: box-runc runs Linux containers';
const NO_LSM = 'needs a Linux security module, which box does not apply yet';

function versionOk(v: string): boolean {
  const m = /^1\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/.exec(v);
  return m !== null && Number(m[1]) <= 3;
}

export function parseOciConfig(text: string): OciConfig {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SpecFieldError('the document', `not valid JSON: ${(err as Error).message}`);
  }
  const top = new Fields(doc, '', {
    honoured: ['ociVersion', 'root', 'process', 'hostname', 'mounts', 'annotations', 'linux', 'domainname', 'hooks'],
    refused: { solaris: NOT_WINDOWS, windows: NOT_WINDOWS, vm: NOT_WINDOWS, zos: NOT_WINDOWS },
  });
  const ociVersion = top.str('ociVersion');
  if (ociVersion === undefined) throw new SpecFieldError('ociVersion', 'missing');
  if (!versionOk(ociVersion)) {
    throw new SpecFieldError('ociVersion', `${ociVersion} is not supported (box-runc reads 1.0.0 to 1.3.x)`);
  }
  if (top.str('domainname')) throw new SpecFieldError('domainname', 'box cannot set a NIS domain name yet');
  const rootF = top.sub('root', { honoured: ['path', 'readonly'] });
  const rootPath = rootF?.str('path');
  if (!rootF || !rootPath) throw new SpecFieldError('root.path', 'missing: the bundle must name its root filesystem');
  const processF = top.sub('process', PROCESS_RULES);
  if (!processF) throw new SpecFieldError('process', 'missing: box-runc needs the process to run');
  const linux = top.sub('linux', LINUX_RULES);
  if (!linux) throw new SpecFieldError('linux', 'missing: box-runc runs Linux containers');
  const { namespaces, joined } = parseNamespaces(linux);
  const hostname = top.str('hostname');
  if (hostname && !namespaces.has('uts')) {
    throw new SpecFieldError('hostname', 'needs a new uts namespace (linux.namespaces)');
  }
  const warnings: string[] = [];
  const res = parseResources(linux, warnings);
  const process = parseProcess(processF, warnings);
  return {
    ociVersion,
    root: { path: rootPath, readonly: rootF.bool('readonly') },
    process,
    hostname: hostname || undefined,
    mounts: top.list('mounts').map(({ v, field }) => parseMount(v, field)),
    annotations: top.stringMap('annotations'),
    namespaces,
    joined,
    devices: linux.list('devices').map(({ v, field }) => parseDevice(v, field)),
    cgroupsPath: parseCgroupsPath(linux),
    limits: res.limits,
    allDevices: res.allDevices,
    sysctl: linux.stringMap('sysctl'),
    seccomp: linux.has('seccomp') ? parseSeccomp(linux.raw('seccomp')) : undefined,
    rootfsPropagation: parsePropagation(linux),
    maskedPaths: absolutePaths(linux, 'maskedPaths'),
    readonlyPaths: absolutePaths(linux, 'readonlyPaths'),
    hooks: parseHooks(top),
    warnings,
  };
}

/** The hooks box-runc runs itself, in the runtime's namespace (hooks.ts). */
export const HOST_HOOKS = ['prestart', 'createRuntime', 'poststart', 'poststop'] as const;
/** The hooks the container's init runs, in the container's namespaces (native `hook`, `start-hook`). */
export const CONTAINER_HOOKS = ['createContainer', 'startContainer'] as const;
export type HookName = (typeof HOST_HOOKS)[number] | (typeof CONTAINER_HOOKS)[number];

function parseHooks(top: Fields): OciConfig['hooks'] {
  const names = [...HOST_HOOKS, ...CONTAINER_HOOKS];
  const hooks = top.sub('hooks', { honoured: names });
  const out: OciConfig['hooks'] = {};
  for (const name of names) {
    const list = hooks?.list(name).map(({ v, field }) => {
      const h = new Fields(v, field, { honoured: ['path', 'args', 'env', 'timeout'] });
      const hookPath = h.str('path');
      if (!hookPath?.startsWith('/')) throw new SpecFieldError(`${field}.path`, 'must be an absolute path');
      const timeout = h.int('timeout', 1, 3600);
      return { path: hookPath, args: h.strings('args'), env: h.strings('env'), timeout };
    });
    if (list?.length) out[name] = list;
  }
  return out;
}

/** An `exec --process` file: one runtime-spec Process object, read as config.json's process is. */
export function parseOciProcess(text: string): { process: OciProcess; warnings: string[] } {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SpecFieldError('process', `not valid JSON: ${(err as Error).message}`);
  }
  const warnings: string[] = [];
  return { process: parseProcess(new Fields(doc, 'process', PROCESS_RULES), warnings), warnings };
}

const PROCESS_RULES: FieldRules = {
  honoured: [
    'terminal',
    'consoleSize',
    'args',
    'env',
    'cwd',
    'user',
    'capabilities',
    'rlimits',
    'noNewPrivileges',
    'oomScoreAdj',
  ],
  refused: {
    commandLine: NOT_WINDOWS,
    apparmorProfile: NO_LSM,
    selinuxLabel: NO_LSM,
    scheduler: 'box cannot set a scheduling policy yet',
    ioPriority: 'box cannot set an I/O priority yet',
    execCPUAffinity: 'box cannot set a CPU affinity yet',
  },
};

function parseProcess(p: Fields, warnings: string[]): OciProcess {
  const args = p.strings('args');
  if (!args.length) throw new SpecFieldError('process.args', 'missing: the command to run');
  const cwd = p.str('cwd') ?? '';
  if (!cwd?.startsWith('/')) throw new SpecFieldError('process.cwd', 'must be an absolute path');
  const terminal = p.bool('terminal');
  const size = p.sub('consoleSize', { honoured: ['height', 'width'] });
  const rows = size?.int('height', 0, 0xffff) ?? 0;
  const cols = size?.int('width', 0, 0xffff) ?? 0;
  const user = p.sub('user', {
    honoured: ['uid', 'gid', 'additionalGids', 'umask'],
    refused: { username: NOT_WINDOWS },
  });
  if (!user) throw new SpecFieldError('process.user', 'missing');
  const umask = user.int('umask', 0, 0o777);
  if (umask !== undefined && umask !== 0o022) {
    throw new SpecFieldError(
      'process.user.umask',
      'box sets umask 022 before the command runs; other masks are refused',
    );
  }
  const gids = user.list('additionalGids').map(({ v, field }) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffffffe)
      throw new SpecFieldError(field, 'must be a gid');
    return v;
  });
  return {
    terminal,
    args,
    env: p.strings('env'),
    cwd,
    user: { uid: user.int('uid', 0, 0xfffffffe) ?? 0, gid: user.int('gid', 0, 0xfffffffe) ?? 0, additionalGids: gids },
    caps: parseCaps(p, warnings),
    rlimits: p.list('rlimits').map(({ v, field }) => parseRlimit(v, field)),
    noNewPrivileges: p.bool('noNewPrivileges'),
    oomScoreAdj: p.int('oomScoreAdj', -1000, 1000),
    // as runc: a size with a zero in it is no size (the receiver's own is kept)
    consoleSize: rows && cols ? { rows, cols } : undefined,
  };
}

const CAP_SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/**
 * The kernel raises an ambient capability only if it is also permitted and inheritable; runc
 * warns about the others and goes on (runc spec's own example lists ambient ones without
 * inheritable), and so does box.
 */
function parseCaps(p: Fields, warnings: string[]): OciProcess['caps'] {
  const f = p.sub('capabilities', { honoured: CAP_SETS });
  const mask = (set: (typeof CAP_SETS)[number]) => {
    let m = 0n;
    for (const [i, name] of (f?.strings(set) ?? []).entries()) {
      const bit = lookupCapName(name);
      if (bit === undefined || !name.toUpperCase().startsWith('CAP_')) {
        throw new SpecFieldError(`process.capabilities.${set}[${i}]`, `unknown capability ${JSON.stringify(name)}`);
      }
      m |= 1n << BigInt(bit);
    }
    return m;
  };
  const permitted = mask('permitted');
  const inheritable = mask('inheritable');
  const ambient = mask('ambient');
  const raisable = ambient & permitted & inheritable;
  if (raisable !== ambient) {
    const names = capsToNames(ambient & ~raisable).join(', ');
    warnings.push(`process.capabilities.ambient: ${names} not raised (not both permitted and inheritable)`);
  }
  return { bounding: mask('bounding'), effective: mask('effective'), permitted, inheritable, ambient: raisable };
}

/** uint64 limits arrive as JSON numbers; 2^64-1 (RLIM_INFINITY) is no safe integer. */
function rlimitValue(f: Fields, k: string): number {
  const v = f.raw(k);
  if (typeof v !== 'number' || v < 0 || !Number.isInteger(v))
    throw new SpecFieldError(f.name(k), 'must be an unsigned integer');
  return v >= 2 ** 63 ? -1 : v;
}

function parseRlimit(v: Json, field: string): Ulimit {
  const f = new Fields(v, field, { honoured: ['type', 'soft', 'hard'] });
  const type = f.str('type') ?? '';
  const name = type.startsWith('RLIMIT_') ? type.slice(7).toLowerCase() : '';
  if (!isRlimitName(name)) throw new SpecFieldError(`${field}.type`, `unknown resource limit ${JSON.stringify(type)}`);
  return { name, soft: rlimitValue(f, 'soft'), hard: rlimitValue(f, 'hard') };
}

function parseMount(v: Json, field: string): OciMount {
  const f = new Fields(v, field, {
    honoured: ['destination', 'type', 'source', 'options'],
    refused: {
      uidMappings: 'needs id-mapped mounts, which box does not make yet',
      gidMappings: 'needs id-mapped mounts, which box does not make yet',
    },
  });
  const destination = f.str('destination');
  if (!destination?.startsWith('/')) throw new SpecFieldError(`${field}.destination`, 'must be an absolute path');
  const options = parseMountOptions(f.strings('options'), `${field}.options`);
  const type = f.str('type') ?? (options.bind ? 'bind' : '');
  if (!type) throw new SpecFieldError(`${field}.type`, 'missing (and the options name no bind)');
  return { destination, type, source: f.str('source') ?? '', ...options, bind: options.bind || type === 'bind' };
}

const LINUX_RULES: FieldRules = {
  honoured: [
    'namespaces',
    'devices',
    'cgroupsPath',
    'resources',
    'sysctl',
    'seccomp',
    'rootfsPropagation',
    'maskedPaths',
    'readonlyPaths',
    'uidMappings',
    'gidMappings',
  ],
  refused: {
    mountLabel: NO_LSM,
    intelRdt: 'box does not manage Intel RDT',
    personality: 'box cannot set an execution domain yet',
    timeOffsets: 'box does not make time namespaces',
    memoryPolicy: 'box cannot set a NUMA memory policy yet',
    netDevices: 'box cannot move network devices into a container yet',
  },
};

const NAMESPACES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

/** Namespaces the helper can join by path before it clones the container (native/PROTOCOL.md `setns`). */
const JOINABLE: readonly NamespaceType[] = ['network', 'ipc', 'uts', 'pid'];

function parseNamespaces(linux: Fields): { namespaces: Set<NamespaceType>; joined: OciConfig['joined'] } {
  const out = new Set<NamespaceType>();
  const joined: OciConfig['joined'] = [];
  for (const { v, field } of linux.list('namespaces')) {
    const f = new Fields(v, field, { honoured: ['type', 'path'] });
    const type = f.str('type') as NamespaceType;
    if (!NAMESPACES.includes(type))
      throw new SpecFieldError(`${field}.type`, `unknown namespace ${JSON.stringify(type)}`);
    const nsPath = f.str('path');
    if (nsPath && !JOINABLE.includes(type)) {
      throw new SpecFieldError(`${field}.path`, `box-runc can join existing ${JOINABLE.join(', ')} namespaces only`);
    }
    if (nsPath && !nsPath.startsWith('/')) throw new SpecFieldError(`${field}.path`, 'must be an absolute path');
    if (type === 'user') throw new SpecFieldError(field, 'box runs as root and makes no user namespace yet');
    if (type === 'time') throw new SpecFieldError(field, 'box does not make time namespaces');
    if (out.has(type) || joined.some((j) => j.type === type)) {
      throw new SpecFieldError(field, `a second ${type} namespace`);
    }
    if (nsPath) joined.push({ type, path: nsPath });
    else out.add(type);
  }
  if (!out.has('mount')) throw new SpecFieldError('linux.namespaces', 'box-runc needs a new mount namespace');
  if (linux.list('uidMappings').length || linux.list('gidMappings').length) {
    throw new SpecFieldError('linux.uidMappings', 'box makes no user namespace yet');
  }
  return { namespaces: out, joined };
}

const S_IFMT = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 } as const;

function parseDevice(v: Json, field: string): OciDevice {
  const f = new Fields(v, field, { honoured: ['path', 'type', 'major', 'minor', 'fileMode', 'uid', 'gid'] });
  const path = f.str('path');
  if (!path?.startsWith('/')) throw new SpecFieldError(`${field}.path`, 'must be an absolute path');
  const type = f.str('type') as keyof typeof S_IFMT;
  if (!Object.hasOwn(S_IFMT, type)) throw new SpecFieldError(`${field}.type`, 'must be c, u, b or p');
  if ((f.int('uid', 0, 0xfffffffe) ?? 0) !== 0 || (f.int('gid', 0, 0xfffffffe) ?? 0) !== 0) {
    throw new SpecFieldError(field, 'box creates device nodes owned by root only');
  }
  const needNumbers = type !== 'p';
  const major = f.int('major', 0, 0xfff) ?? -1;
  const minor = f.int('minor', 0, 0xfffff) ?? -1;
  if (needNumbers && (major < 0 || minor < 0)) throw new SpecFieldError(field, 'needs major and minor');
  const perm = f.int('fileMode', 0, 0o7777) ?? 0o666;
  return { path, mode: S_IFMT[type] | perm, major: Math.max(major, 0), minor: Math.max(minor, 0) };
}

function parseCgroupsPath(linux: Fields): string | undefined {
  const p = linux.str('cgroupsPath');
  if (!p) return undefined;
  if (/^[^/]*:[^/]*:/.test(p)) {
    throw new SpecFieldError('linux.cgroupsPath', `${p} is systemd's form; box-runc manages cgroupfs paths only`);
  }
  const rel = p.replace(/^\/+/, '');
  if (!rel || rel.split('/').some((s) => s === '..' || s === '.')) {
    throw new SpecFieldError('linux.cgroupsPath', `${p} is not a cgroup path below the hierarchy's root`);
  }
  return rel;
}

const RES_REFUSED = 'box does not set this limit yet';
const NO_IO_WEIGHTS = 'box does not set I/O weights yet (the throttles it does)';

/** blockIO's throttle lists → the IoThrottle field each sets. */
const THROTTLES = {
  throttleReadBpsDevice: 'readBps',
  throttleWriteBpsDevice: 'writeBps',
  throttleReadIOPSDevice: 'readIops',
  throttleWriteIOPSDevice: 'writeIops',
} as const;

/** The throttle lists, one IoThrottle per device (a device may be named in several lists, once in each). */
function parseThrottles(blkio: Fields): IoThrottle[] {
  const byDevice = new Map<string, IoThrottle>();
  for (const [list, key] of Object.entries(THROTTLES)) {
    for (const { v, field } of blkio.list(list)) {
      const f = new Fields(v, field, { honoured: ['major', 'minor', 'rate'] });
      const major = f.int('major', 0, 0xfff);
      const minor = f.int('minor', 0, 0xfffff);
      if (major === undefined || minor === undefined) throw new SpecFieldError(field, 'needs major and minor');
      const rate = f.raw('rate');
      if (typeof rate !== 'number' || rate < 0 || !Number.isInteger(rate) || rate > 2 ** 53) {
        throw new SpecFieldError(`${field}.rate`, 'must be a number per second (0: no limit)');
      }
      const dev = `${major}:${minor}`;
      const t = byDevice.get(dev) ?? { major, minor };
      if (t[key] !== undefined) throw new SpecFieldError(field, `a second ${list} entry for device ${dev}`);
      t[key] = rate;
      byDevice.set(dev, t);
    }
  }
  return [...byDevice.values()];
}

/** `update --resources`: one runtime-spec LinuxResources object, read as config.json's is. */
export function parseOciResources(text: string): CgroupLimits {
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SpecFieldError('resources', `not valid JSON: ${(err as Error).message}`);
  }
  return parseResources(new Fields({ resources: doc }, '', { honoured: ['resources'] }), []).limits;
}

function parseResources(linux: Fields, warnings: string[]): { limits: CgroupLimits; allDevices: boolean } {
  const r = linux.sub('resources', {
    honoured: ['memory', 'cpu', 'pids', 'devices', 'blockIO', 'hugepageLimits', 'unified'],
    refused: {
      network: RES_REFUSED,
      rdma: RES_REFUSED,
    },
  });
  const limits: CgroupLimits = {};
  if (!r) return { limits, allDevices: false };
  // dockerd writes a weight of 0 (unset, as runc reads it) and empty device lists: nothing asked
  const blkio = r.sub('blockIO', {
    honoured: ['weight', 'leafWeight', ...Object.keys(THROTTLES)],
    refused: { weightDevice: NO_IO_WEIGHTS },
  });
  for (const k of ['weight', 'leafWeight']) {
    if (blkio?.int(k, 0, 1000)) throw new SpecFieldError(blkio.name(k), NO_IO_WEIGHTS);
  }
  const throttles = blkio ? parseThrottles(blkio) : [];
  if (throttles.length) limits.ioThrottle = throttles;
  const mem = r.sub('memory', {
    honoured: ['limit', 'reservation', 'swap'],
    refused: {
      kernel: RES_REFUSED,
      kernelTCP: RES_REFUSED,
      swappiness: RES_REFUSED,
      disableOOMKiller: RES_REFUSED,
      useHierarchy: RES_REFUSED,
      checkBeforeUpdate: RES_REFUSED,
    },
  });
  const big = 2 ** 53;
  const positive = (f: Fields | undefined, k: string) => {
    const v = f?.int(k, -1, big);
    return v === undefined || v <= 0 ? (v === -1 ? -1 : undefined) : v;
  };
  const memory = positive(mem, 'limit');
  if (memory !== undefined && memory > 0) limits.memory = memory;
  const reservation = positive(mem, 'reservation');
  if (reservation !== undefined && reservation > 0) limits.memoryReservation = reservation;
  const swap = positive(mem, 'swap');
  if (swap !== undefined) limits.memorySwap = swap;
  const cpu = r.sub('cpu', {
    honoured: ['shares', 'quota', 'period', 'cpus', 'mems'],
    refused: { realtimeRuntime: RES_REFUSED, realtimePeriod: RES_REFUSED, idle: RES_REFUSED, burst: RES_REFUSED },
  });
  if (cpu) {
    const shares = cpu.int('shares', 0, 262144);
    if (shares) limits.cpuShares = shares;
    const quota = cpu.int('quota', -1, big);
    if (quota !== undefined && quota !== 0) limits.cpuQuota = quota;
    const period = cpu.int('period', 0, 1_000_000);
    if (period) limits.cpuPeriod = period;
    if (cpu.str('cpus')) limits.cpusetCpus = cpu.str('cpus');
    if (cpu.str('mems')) limits.cpusetMems = cpu.str('mems');
  }
  const pids = r.sub('pids', { honoured: ['limit'] })?.int('limit', -1, big);
  if (pids !== undefined && pids > 0) limits.pidsLimit = pids;
  const hugetlb = parseHugepageLimits(r);
  if (hugetlb) limits.hugetlb = hugetlb;
  const unified = r.stringMap('unified');
  for (const file of Object.keys(unified)) {
    // a cgroup file's name: never a path out of the container's cgroup
    if (!/^[a-z][a-z0-9_]*\.[a-zA-Z0-9_.]+$/.test(file)) {
      throw new SpecFieldError(`linux.resources.unified.${file}`, 'is not the name of a cgroup v2 file');
    }
  }
  if (Object.keys(unified).length) limits.unified = unified;
  return { limits, allDevices: parseDeviceRules(r, warnings) };
}

/**
 * hugepageLimits: page size ("2MB", as the hugetlb controller names it) → bytes. Whether the host
 * has the size is checked with the other limits (cgroups.ts checkLimits), before anything is made.
 */
function parseHugepageLimits(r: Fields): Record<string, number> | undefined {
  const entries = r.list('hugepageLimits');
  if (!entries.length) return undefined;
  const out: Record<string, number> = {};
  for (const { v, field } of entries) {
    const f = new Fields(v, field, { honoured: ['pageSize', 'limit'] });
    const size = f.str('pageSize') ?? '';
    if (!/^[1-9]\d*[KMGTP]B$/.test(size)) {
      throw new SpecFieldError(`${field}.pageSize`, `${JSON.stringify(size)} is no page size such as "2MB" or "1GB"`);
    }
    if (Object.hasOwn(out, size)) throw new SpecFieldError(field, `a second limit for ${size} pages`);
    const limit = f.raw('limit');
    if (typeof limit !== 'number' || limit < 0 || !Number.isInteger(limit)) {
      throw new SpecFieldError(`${field}.limit`, 'must be a number of bytes');
    }
    out[size] = limit >= 2 ** 63 ? -1 : limit; // uint64's max (no safe integer) is no limit
  }
  return out;
}

/**
 * box enforces Docker's default device allowlist, or every device: linux.resources.devices must
 * ask for one of the two (containerd, CRI-O and podman write the first).
 */
function parseDeviceRules(r: Fields, warnings: string[]): boolean {
  const rules = r.list('devices').map(({ v, field }) => {
    const f = new Fields(v, field, { honoured: ['allow', 'type', 'major', 'minor', 'access'] });
    const type = f.str('type') ?? 'a';
    const n = (k: string) => {
      const x = f.int(k, -1, 0xfffff);
      return x === undefined || x === -1 ? '*' : String(x);
    };
    return { allow: f.bool('allow'), text: `${type} ${n('major')}:${n('minor')} ${f.str('access') ?? 'rwm'}`, field };
  });
  if (!rules.length) return false;
  const last = rules[rules.length - 1];
  if (rules.length === 1 && last.allow && /^a \*:\* rwm$/.test(last.text)) return true;
  const defaults = new Set(DEFAULT_DEVICE_RULES.map(v1RuleText));
  const asked = new Set<string>();
  for (const [i, rule] of rules.entries()) {
    if (!rule.allow) {
      if (i === 0 && /^a \*:\* rwm$/.test(rule.text)) continue;
      // A later denial is taken when it closes nothing box's allowlist opens for reading or
      // writing (dockerd denies c 10:229 rwm); that the node may still be created is said.
      if (DEFAULT_DEVICE_RULES.some((d) => overlaps(rule.text, d, 'rw'))) {
        throw new SpecFieldError(rule.field, `denies ${rule.text}, which box's device allowlist opens`);
      }
      if (DEFAULT_DEVICE_RULES.some((d) => overlaps(rule.text, d, 'm'))) {
        warnings.push(
          `${rule.field}: ${rule.text} may still be created (mknod), as box lets any node be; it cannot be opened`,
        );
      }
      continue;
    }
    asked.add(rule.text);
  }
  if (rules[0].allow) throw new SpecFieldError('linux.resources.devices', 'must start by denying every device');
  for (const rule of rules) {
    if (rule.allow && !defaults.has(rule.text)) {
      throw new SpecFieldError(rule.field, `${rule.text} is outside box's device allowlist (Docker's default)`);
    }
  }
  return false;
}

/** Does the rule text "T MAJ:MIN ACCESS" cover any device and access the allowlist rule opens? */
function overlaps(text: string, d: DeviceRule, accesses: string): boolean {
  const [type, nums, access] = text.split(' ');
  const [major, minor] = nums.split(':');
  const match = (a: string, b: number | undefined) => a === '*' || b === undefined || Number(a) === b;
  return (
    (type === 'a' || type === d.type) &&
    match(major, d.major) &&
    match(minor, d.minor) &&
    [...access].some((c) => accesses.includes(c) && d.access.includes(c))
  );
}

function parseSeccomp(v: Json): string {
  const f = new Fields(v, 'linux.seccomp', {
    honoured: ['defaultAction', 'defaultErrnoRet', 'architectures', 'syscalls'],
    refused: {
      flags: 'box loads filters without flags',
      listenerPath: 'box has no seccomp notify agent',
      listenerMetadata: 'box has no seccomp notify agent',
    },
  });
  return JSON.stringify(f.o);
}

const PROPAGATION: Record<string, number> = {
  private: 1 << 18,
  rprivate: (1 << 18) | 16384,
  slave: 1 << 19,
  rslave: (1 << 19) | 16384,
  shared: 1 << 20,
  rshared: (1 << 20) | 16384,
  unbindable: 1 << 17,
  runbindable: (1 << 17) | 16384,
};

function parsePropagation(linux: Fields): number {
  const p = linux.str('rootfsPropagation');
  if (!p) return PROPAGATION.rslave; // runc's default
  if (!Object.hasOwn(PROPAGATION, p)) throw new SpecFieldError('linux.rootfsPropagation', `unknown propagation ${p}`);
  return PROPAGATION[p];
}

function absolutePaths(linux: Fields, k: string): string[] {
  const paths = linux.strings(k);
  paths.forEach((p, i) => {
    if (!p.startsWith('/')) throw new SpecFieldError(`linux.${k}[${i}]`, 'must be an absolute path');
  });
  return paths;
}
